/**
 * The gateway's subgraph calls carry one operation each, printed by the query planner with its
 * keyword (or as the `{ … }` shorthand for a query), in a body the data source writes as
 * `{"query":"<operation>", …}` (gateway/upstream/subgraph-data-source.ts). So the body's first
 * bytes tell a query from a mutation, without parsing: the one answer to "is this a query?" below
 * the gateway, for retries (a mutation that timed out may have been applied) and for merging
 * (a mutation must run every time).
 */
const QUERY_BODY = /^\{"query":"(?:query\b|\{)/;

/** True when a subgraph call's body carries a query; false for a mutation or any body of another shape. */
export function isQueryBody(body: unknown): boolean {
  return typeof body === 'string' && QUERY_BODY.test(body);
}

/** `isQueryBody` of a request's init, as the balanced fetch asks it (`isIdempotent`). */
export function isQueryRequest(init: RequestInit): boolean {
  return isQueryBody(init.body);
}
