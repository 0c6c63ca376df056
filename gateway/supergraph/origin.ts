import { watch } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { FastifyBaseLogger } from 'fastify';
import type { SupergraphSettings } from '../config';

/** Where supergraph texts come from: a file or a URL. */
export interface SupergraphOrigin {
  /** The file's path or the URL, for logs and status. */
  location: string;
  /** The current text; undefined when the origin says it has not changed since the last read. Throws when unreadable. */
  read(): Promise<string | undefined>;
  /** Calls `changed` whenever the text may have changed (a folder event, a poll's turn), until the returned function is called. */
  watch(changed: (trigger: 'watch' | 'poll') => void): () => void;
}

/**
 * Events in the watched folder closer together than this make one reload: an editor's save or a
 * copy can take several writes, and reading between them would find half a file.
 */
const WATCH_DEBOUNCE_MS = 200;
/** How long one fetch of `SUPERGRAPH_URL` may take, in ms. */
const FETCH_TIMEOUT_MS = 10_000;

/**
 * A supergraph file. Watching it means watching its folder: Kubernetes updates a mounted
 * ConfigMap by swapping the `..data` symlink the file points through, which changes neither the
 * file's own entry nor the inode a watch on the file holds (the gap apollographql/router#1695 and
 * #2245 describe). Every event in the folder counts; the hash of what is read tells whether
 * anything changed.
 */
export function fileOrigin(path: string, { watchFolder, log }: { watchFolder: boolean; log: FastifyBaseLogger }): SupergraphOrigin {
  return {
    location: path,
    read: () => readFile(path, 'utf8'),
    watch(changed) {
      if (!watchFolder) return () => undefined;
      let timer: NodeJS.Timeout | undefined;
      // Not persistent: a watch alone must not keep a stopping process alive.
      const watcher = watch(dirname(path), { persistent: false }, () => {
        clearTimeout(timer);
        timer = setTimeout(() => changed('watch'), WATCH_DEBOUNCE_MS);
      });
      watcher.on('error', (error) => log.warn({ err: error, folder: dirname(path) }, 'supergraph: cannot watch the folder any more; SIGHUP still reloads'));
      return () => {
        clearTimeout(timer);
        watcher.close();
      };
    },
  };
}

/** A supergraph served over HTTP, fetched every `pollIntervalMs`; its `ETag` is sent back so an unchanged one costs a 304. */
export function urlOrigin(url: string, { pollIntervalMs }: { pollIntervalMs: number }): SupergraphOrigin {
  let etag: string | undefined;
  return {
    location: url,
    async read() {
      const response = await fetch(url, { headers: etag ? { 'if-none-match': etag } : {}, signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
      if (response.status === 304) return undefined;
      if (!response.ok) throw new Error(`GET ${url} answered ${response.status}`);
      const text = await response.text();
      etag = response.headers.get('etag') ?? undefined;
      return text;
    },
    watch(changed) {
      const timer = setInterval(() => changed('poll'), pollIntervalMs);
      timer.unref();
      return () => clearInterval(timer);
    },
  };
}

/** The origin the settings name: `SUPERGRAPH_URL` when set, else the file at `SUPERGRAPH_PATH`. */
export function supergraphOrigin(settings: SupergraphSettings, log: FastifyBaseLogger): SupergraphOrigin {
  return settings.url !== undefined ? urlOrigin(settings.url, settings) : fileOrigin(settings.path, { watchFolder: settings.watch, log });
}
