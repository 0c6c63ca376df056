import type { GraphQLResolverMap } from '@apollo/subgraph/dist/schema-helper';
import { AppError } from '../../shared/errors';
import { issueAccessToken, type JwtSettings } from '../../shared/jwt';

export interface AuthContext {
  jwt: JwtSettings;
}

/** Matches `orders.user_id`, where the subject is stored. */
const MAX_USER_ID_LENGTH = 128;

function requireUserId(value: string): string {
  const userId = value.trim();
  if (userId === '' || [...userId].length > MAX_USER_ID_LENGTH || /\p{Cc}/u.test(userId)) {
    throw new AppError('BAD_USER_INPUT', `user_id must be 1 to ${MAX_USER_ID_LENGTH} printable characters`, { field: 'userId' });
  }
  return userId;
}

export const resolvers: GraphQLResolverMap<AuthContext> = {
  Mutation: {
    signIn: (_parent, { userId }: { userId: string }, { jwt }) => ({
      ...issueAccessToken(jwt, requireUserId(userId)),
      tokenType: 'Bearer',
    }),
  },
};
