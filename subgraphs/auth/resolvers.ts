import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper';
import { requireText } from '../../shared/input';
import { issueAccessToken, type IssuedToken } from '../../shared/jwt';
import { signAccessToken } from '../../shared/signing-keys';
import type { TokenIssuing } from './config';

export interface AuthContext {
  tokens: TokenIssuing;
}

/** Matches `orders.user_id`, where the subject is stored. */
const MAX_USER_ID_LENGTH = 128;

function issue(tokens: TokenIssuing, userId: string): IssuedToken | Promise<IssuedToken> {
  return tokens.mode === 'jwks' ? signAccessToken(tokens.signing, userId) : issueAccessToken(tokens.sharedSecret, userId);
}

export const resolvers: GraphQLResolverMap<AuthContext> = {
  Mutation: {
    signIn: async (_parent, { userId }: { userId: string }, { tokens }) => ({
      ...(await issue(tokens, requireText(userId, 'user_id', MAX_USER_ID_LENGTH))),
      tokenType: 'Bearer',
    }),
  },
};
