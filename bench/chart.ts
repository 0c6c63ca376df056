import type { ForeignResult } from './foreign/report';

/**
 * The like-for-like pairs of the foreign scenario as a horizontal bar chart, an SVG written by hand
 * (no charting dependency): one panel per deduplication setting, since the rates with and without
 * it differ tenfold, one group of bars per connection count, ours first, the ratio beside each peer.
 */

const WIDTH = 820;
const LABEL_WIDTH = 270;
const BAR_AREA = 380;
const ROW = 20;
const GROUP_GAP = 10;
const PANEL_TITLE = 34;
const COLORS = ['#1f6fb2', '#e07b39', '#e8b230', '#7a7a7a'];

const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const text = (x: number, y: number, content: string, attributes = '') => `<text x="${x}" y="${y}"${attributes ? ` ${attributes}` : ''}>${escape(content)}</text>`;

export function likeForLikeChart(result: ForeignResult): string {
  const panels = [...new Set(result.pairs.map((pair) => pair.ours))].map((ours) => {
    const pairs = result.pairs.filter((pair) => pair.ours === ours);
    const peers = [...new Set(pairs.map((pair) => pair.peer))];
    return { ours, why: pairs[0]!.why, names: [ours, ...peers], connections: [...new Set(pairs.map((pair) => pair.connections))] };
  });
  const rate = (name: string, connections: number) => result.rows.find((row) => row.target === name && row.connections === connections)?.requestsPerSecond ?? 0;
  const ratio = (ours: string, peer: string, connections: number) => result.pairs.find((pair) => pair.ours === ours && pair.peer === peer && pair.connections === connections)?.rate;
  const parts: string[] = [];
  let y = 76;
  for (const panel of panels) {
    parts.push(text(10, y + 16, `${panel.why[0]!.toUpperCase()}${panel.why.slice(1)}`, 'font-weight="bold" font-size="14"'));
    y += PANEL_TITLE;
    const max = Math.max(1, ...panel.connections.flatMap((connections) => panel.names.map((name) => rate(name, connections))));
    for (const connections of panel.connections) {
      parts.push(text(10, y + 14, `${connections} connections`, 'fill="#555" font-style="italic"'));
      y += ROW;
      panel.names.forEach((name, index) => {
        const value = rate(name, connections);
        const width = Math.max(1, Math.round((BAR_AREA * value) / max));
        const versus = index === 0 ? '' : `  (ours ${ratio(panel.ours, name, connections)}×)`;
        parts.push(text(LABEL_WIDTH - 8, y + 14, name, 'text-anchor="end"'));
        parts.push(`<rect x="${LABEL_WIDTH}" y="${y + 3}" width="${width}" height="${ROW - 6}" fill="${COLORS[index % COLORS.length]}"/>`);
        parts.push(text(LABEL_WIDTH + width + 6, y + 14, `${value} req/s${versus}`));
        y += ROW;
      });
      y += GROUP_GAP;
    }
    y += GROUP_GAP;
  }
  const height = y + 10;
  const title = `The Guild's gateways benchmark query (${(result.responseBytes / 1000).toFixed(1)} KB answers): like-for-like pairs, req/s (median of ${result.rounds} rounds of ${result.seconds} s)`;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif" font-size="12">`,
    `<rect width="${WIDTH}" height="${height}" fill="#fff"/>`,
    text(10, 20, title, 'font-weight="bold" font-size="13"'),
    text(10, 38, `${result.header}`, 'fill="#555" font-size="11"'),
    text(10, 54, `Hive Gateway ${result.hive.gateway}, @graphql-hive/router-runtime ${result.hive.routerRuntime}; written by npm run bench (bench/chart.ts), numbers in bench/results.json`, 'fill="#555" font-size="11"'),
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}
