import { STATUS_CODES, type ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import type { FastifyReply } from 'fastify';
import { GraphQLError, type GraphQLFormattedError } from 'graphql';
import { errorCatalogue, restErrorBody, type ErrorCode } from './errors';
import { failSpan } from './tracing/span';

/**
 * The one door for errors: every error status a process answers, and every error body, comes out
 * of `errorAnswer` below, so the catalogue (shared/errors.ts) decides the status and the request
 * decides the shape, in one place. The rest of this module only writes that answer where it has
 * to go: a Fastify reply, a raw response (before Fastify), a socket (before HTTP parsed), or an
 * Apollo response. `tests/error-door.test.ts` fails when a module of gateway/, shared/ or
 * subgraphs/ sets an error status or builds an error body itself.
 */

/** Where every process (the gateway and each subgraph) serves GraphQL. */
export const GRAPHQL_PATH = '/graphql';

export type ErrorShape = 'rest' | 'graphql';

/**
 * The shape of an error answer to a request: GraphQL (`{"errors": [{message, extensions: {code}}]}`)
 * for a GraphQL request (GET or POST on the GraphQL path, whatever its query string), REST
 * (`{"error": {code, message}}`) for everything else, a PUT to `/graphql` included (no route).
 */
export function errorShapeOf(method: string | undefined, url: string | undefined): ErrorShape {
  if ((method !== 'POST' && method !== 'GET') || url === undefined || !url.startsWith(GRAPHQL_PATH)) return 'rest';
  return url.length === GRAPHQL_PATH.length || url[GRAPHQL_PATH.length] === '?' ? 'graphql' : 'rest';
}

/** An error answer: its status from the catalogue, its body in the request's shape. */
export interface ErrorAnswer {
  status: number;
  body: Record<string, unknown>;
}

/** The door: a catalogue code (and an optional message and details for the client) as the answer to a request of `shape`. */
export function errorAnswer(shape: ErrorShape, code: ErrorCode, message: string = errorCatalogue[code].message, details: Readonly<Record<string, unknown>> = {}): ErrorAnswer {
  const body = shape === 'graphql' ? { errors: [{ message, extensions: { ...details, code } }] } : restErrorBody(code, message, details);
  return { status: errorCatalogue[code].status, body };
}

/** Answers a Fastify request with a catalogue error (and marks its span failed with the code). */
export function sendError(reply: FastifyReply, code: ErrorCode, message?: string, details?: Readonly<Record<string, unknown>>): FastifyReply {
  const { status, body } = errorAnswer(errorShapeOf(reply.request.method, reply.request.url), code, message, details);
  failSpan(code);
  return reply.code(status).send(body);
}

/** Answers a request Fastify never sees (the app is closing, the metrics listener's) with a catalogue error, and closes the connection. */
export function writeError(response: ServerResponse, code: ErrorCode, message?: string): void {
  const { status, body } = errorAnswer(errorShapeOf(response.req.method, response.req.url), code, message);
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), connection: 'close' });
  response.end(text);
}

/**
 * Answers on the socket a request Node's HTTP parser refused, then closes it. `head` is what was
 * received of the request, when Node kept it: its request line, if complete, picks the shape.
 */
export function endSocketWithError(socket: Socket, code: ErrorCode, head: Buffer | undefined): void {
  const requestLine = head === undefined ? undefined : /^([A-Z]+) (\S+)/.exec(head.toString('latin1', 0, Math.min(head.length, 256)));
  const { status, body } = errorAnswer(errorShapeOf(requestLine?.[1], requestLine?.[2]), code);
  const text = JSON.stringify(body);
  const lines = `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(text)}\r\nConnection: close\r\n\r\n`;
  socket.end(lines + text, () => socket.destroy());
}

/** An error for Apollo to answer as a whole request's failure, with the catalogue's status. */
export function graphqlRequestError(code: ErrorCode, message: string = errorCatalogue[code].message): GraphQLError {
  return new GraphQLError(message, { extensions: { code, http: { status: errorCatalogue[code].status } } });
}

/** One error of a GraphQL response, as `formatError` returns it, with the catalogue's message unless the client should see another. */
export function formattedGraphQLError(code: ErrorCode, at: Pick<GraphQLFormattedError, 'locations' | 'path'> = {}, message: string = errorCatalogue[code].message, details: Readonly<Record<string, unknown>> = {}): GraphQLFormattedError {
  return { message, ...at, extensions: { ...details, code } };
}

/** Sets the status of an Apollo response that failed as a whole with `code` (a client error), as REST would answer it. */
export function failGraphQLResponse(http: { status?: number }, code: ErrorCode): void {
  const { status } = errorCatalogue[code];
  if (status >= 400 && status < 500) http.status = status;
}
