import { readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper';
import { execute, parse, validate, type DocumentNode, type GraphQLSchema } from 'graphql';
import { AUTHOR, INVENTORY, PRODUCTS, REVIEWS, REVIEWS_OF_EVERY_USER, USERS, type Review } from './data';

/**
 * The four subgraphs of The Guild's gateways benchmark, ours in Node: their schema and data, none
 * of our platform's (no gateway proof, no Fastify, no `/health`: a foreign subgraph knows nothing
 * of our gateway). All four live in one process on four ports: on the 2-core machine a process
 * each would add three more event loops and heaps competing with the gateways under test.
 */
export const FOREIGN_SUBGRAPHS = ['accounts', 'inventory', 'products', 'reviews'] as const;
export type ForeignSubgraph = (typeof FOREIGN_SUBGRAPHS)[number];

/** Distinct request bodies whose answers one subgraph keeps. */
const MAX_REMEMBERED_ANSWERS = 1000;

export const schemaFile = (name: ForeignSubgraph) => join(__dirname, 'schema', `${name}.graphql`);

const byId = <T>(items: readonly T[], key: keyof T) => (value: unknown) => items.find((item) => item[key] === value);
const reviewsOf = (upc: string) => REVIEWS.filter((review) => review.productUpc === upc);

const resolvers: Record<ForeignSubgraph, GraphQLResolverMap<unknown>> = {
  accounts: {
    Query: {
      me: () => USERS[0],
      user: (_: unknown, { id }: { id: string }) => byId(USERS, 'id')(id),
      users: () => USERS,
    },
    User: { __resolveReference: ({ id }: { id: string }) => byId(USERS, 'id')(id) },
  },
  products: {
    Query: { topProducts: (_: unknown, { first }: { first: number }) => PRODUCTS.slice(0, first) },
    Product: { __resolveReference: ({ upc }: { upc: string }) => byId(PRODUCTS, 'upc')(upc) },
  },
  inventory: {
    Product: {
      // As in The Guild's subgraph: the stored item, not the representation's required price and
      // weight, so the estimate is null (their benchmark's expected response says so).
      __resolveReference: ({ upc }: { upc: string }) => byId(INVENTORY, 'upc')(upc),
      shippingEstimate: ({ price, weight }: { price?: number; weight?: number }) => {
        if (price === undefined) return null;
        if (price > 1000) return 0;
        return weight === undefined ? null : Math.trunc(weight / 2);
      },
    },
  },
  reviews: {
    Review: {
      __resolveReference: ({ id }: { id: string }) => byId(REVIEWS, 'id')(id),
      product: (review: Review) => ({ upc: review.productUpc }),
      author: () => AUTHOR,
    },
    User: {
      __resolveReference: ({ id }: { id: string }) => ({ id }),
      reviews: () => REVIEWS_OF_EVERY_USER,
    },
    Product: {
      __resolveReference: ({ upc }: { upc: string }) => ({ upc }),
      reviews: ({ upc }: { upc: string }) => reviewsOf(upc),
    },
  },
};

export function foreignSchema(name: ForeignSubgraph): GraphQLSchema {
  return buildSubgraphSchema({ typeDefs: parse(readFileSync(schemaFile(name), 'utf8')), resolvers: resolvers[name] });
}

/**
 * `POST /graphql` over plain node:http. The data never changes, so each distinct request body is
 * executed once and its answer replayed: the subgraphs then cost little more than their HTTP, as
 * The Guild's Rust ones do, and leave the CPU to the gateways being measured.
 */
function graphqlHandler(schema: GraphQLSchema) {
  const answers = new Map<string, string>();
  const documents = new Map<string, DocumentNode>();
  const answer = async (body: string): Promise<{ status: number; text: string }> => {
    const remembered = answers.get(body);
    if (remembered !== undefined) return { status: 200, text: remembered };
    let request: { query?: unknown; variables?: Record<string, unknown>; operationName?: string };
    let document: DocumentNode | undefined;
    try {
      request = JSON.parse(body) as typeof request;
      if (typeof request.query !== 'string') throw new Error('no query');
      document = documents.get(request.query) ?? parse(request.query);
    } catch (error) {
      return { status: 400, text: JSON.stringify({ errors: [{ message: `Bad request: ${(error as Error).message}` }] }) };
    }
    const invalid = validate(schema, document);
    if (invalid.length > 0) return { status: 400, text: JSON.stringify({ errors: invalid }) };
    documents.set(request.query as string, document);
    const result = await execute({ schema, document, variableValues: request.variables, operationName: request.operationName });
    const text = JSON.stringify(result);
    if (!result.errors && answers.size < MAX_REMEMBERED_ANSWERS) answers.set(body, text);
    return { status: 200, text };
  };
  return (request: IncomingMessage, response: ServerResponse) => {
    if (request.method !== 'POST' || request.url?.split('?')[0] !== '/graphql') {
      response.writeHead(404).end();
      return;
    }
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      void answer(Buffer.concat(chunks).toString('utf8')).then(({ status, text }) => {
        response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) }).end(text);
      });
    });
  };
}

export interface ForeignSubgraphs {
  /** Each subgraph's GraphQL URL. */
  urls: Record<ForeignSubgraph, string>;
  close(): Promise<void>;
}

/** Starts the four subgraphs on 127.0.0.1, on the given ports or free ones. */
export async function startForeignSubgraphs(ports: Partial<Record<ForeignSubgraph, number>> = {}): Promise<ForeignSubgraphs> {
  const servers: Server[] = [];
  const urls = {} as Record<ForeignSubgraph, string>;
  for (const name of FOREIGN_SUBGRAPHS) {
    const server = createServer(graphqlHandler(foreignSchema(name)));
    servers.push(server);
    await new Promise<void>((resolve) => server.listen(ports[name] ?? 0, '127.0.0.1', resolve));
    urls[name] = `http://127.0.0.1:${(server.address() as { port: number }).port}/graphql`;
  }
  const close = async () => {
    await Promise.all(
      servers.map((server) => {
        server.closeAllConnections();
        return new Promise((resolve) => server.close(resolve));
      }),
    );
  };
  return { urls, close };
}

/** `FOREIGN_SUBGRAPH_PORTS="accounts=4001,inventory=4002,products=4003,reviews=4004"`, as bench/foreign/run.ts passes them. */
function portsFromEnv(value = ''): Partial<Record<ForeignSubgraph, number>> {
  const ports: Partial<Record<ForeignSubgraph, number>> = {};
  for (const pair of value.split(',').filter(Boolean)) {
    const [name, port] = pair.split('=');
    if (!FOREIGN_SUBGRAPHS.includes(name as ForeignSubgraph) || !Number.isInteger(Number(port))) throw new Error(`FOREIGN_SUBGRAPH_PORTS: bad entry "${pair}"`);
    ports[name as ForeignSubgraph] = Number(port);
  }
  return ports;
}

if (require.main === module) {
  void startForeignSubgraphs(portsFromEnv(process.env.FOREIGN_SUBGRAPH_PORTS)).then(({ urls, close }) => {
    console.log(JSON.stringify(urls));
    const stop = () => void close().then(() => process.exit(0));
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
}
