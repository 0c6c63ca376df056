import { readFileSync } from 'node:fs';
import { ApolloGateway, RemoteGraphQLDataSource, type GraphQLDataSourceProcessOptions } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { SUPERGRAPH_FILE } from '../schema/subgraphs';
import { PROOF_HEADER, signProof } from '../shared/subgraph-proof';

/** Who the caller is: stock Apollo Gateway has no JWT, so the bench names its user in this header. */
const USER_HEADER = 'x-user-id';
/** Our subgraphs require the gateway's proof; a foreign supergraph's (bench/foreign) do not, and get none. */
const proof = process.env.SUBGRAPH_SECRET ? { secret: process.env.SUBGRAPH_SECRET } : undefined;

/**
 * The stock baseline of `npm run bench`: Apollo Gateway on Apollo Server's standalone server,
 * default settings, over the same supergraph and subgraph processes as ours. Only what it takes
 * to reach them is added: each subgraph's URL from `SUBGRAPH_<NAME>_URLS` (the first; stock has no
 * balancing) and the caller's `x-user-id` passed on in the proof our subgraphs require (stock has
 * no JWT), as every Apollo Gateway deployment with per-user data adds something of the kind. Not
 * part of the product; started by bench/run.ts only. `SUPERGRAPH_PATH` serves another supergraph,
 * as our gateway's setting of that name does.
 */
interface Context {
  userId?: string;
}

class ForwardUser extends RemoteGraphQLDataSource<Context> {
  override willSendRequest({ request, context }: GraphQLDataSourceProcessOptions<Context>): void {
    if (proof) request.http?.headers.set(PROOF_HEADER, signProof(proof, (context as Context).userId, request.query ?? ''));
  }
}

async function main(): Promise<void> {
  const gateway = new ApolloGateway({
    supergraphSdl: readFileSync(process.env.SUPERGRAPH_PATH ?? SUPERGRAPH_FILE, 'utf8'),
    buildService: ({ name, url }) => new ForwardUser({ url: process.env[`SUBGRAPH_${name.toUpperCase()}_URLS`]?.split(',')[0] ?? url }),
  });
  const server = new ApolloServer<Context>({ gateway });
  const { url } = await startStandaloneServer(server, {
    listen: { host: '127.0.0.1', port: Number(process.env.PORT ?? 0) },
    context: async ({ req }) => ({ userId: typeof req.headers[USER_HEADER] === 'string' ? req.headers[USER_HEADER] : undefined }),
  });
  console.log(JSON.stringify({ url }));
}

void main();
