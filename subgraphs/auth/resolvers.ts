import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper';
import { requireText } from '../../shared/input';
import { issueAccessToken, type JwtSettings } from '../../shared/jwt';

export interface AuthContext {
  jwt: JwtSettings;
}

/** Matches `orders.user_id`, where the subject is stored. */
const MAX_USER_ID_LENGTH = 128;

export const resolvers: GraphQLResolverMap<AuthContext> = {
  Mutation: {
    signIn: (_parent, { userId }: { userId: string }, { jwt }) => ({
      ...issueAccessToken(jwt, requireText(userId, 'user_id', MAX_USER_ID_LENGTH)),
      tokenType: 'Bearer',
    }),
  },
};
