import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import { failGraphQLResponse, graphqlRequestError } from '../shared/error-response';
import { isErrorCode } from '../shared/errors';

/**
 * HTTP statuses for GraphQL client errors. A request that produced no data at all (null, or null in
 * every root field) because of the client's mistake (bad input, an unknown product, a missing order) is answered with its first
 * error's status from the catalogue (400, 404, …) instead of 200, as REST answers it; partial
 * results and server-side failures keep Apollo's status. An operation name that names no
 * operation in the document is a 400 `OPERATION_RESOLUTION_FAILURE` before anything runs (the
 * gateway would otherwise fail it as an internal error).
 */
export function useErrorStatus<TContext extends BaseContext>(): ApolloServerPlugin<TContext> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ operation, request }) {
          if (operation) return;
          throw graphqlRequestError('OPERATION_RESOLUTION_FAILURE', `Unknown operation named "${request.operationName ?? ''}"`);
        },
        async willSendResponse({ response }) {
          if (response.body.kind !== 'single' || (response.http.status ?? 200) !== 200) return;
          const { data, errors } = response.body.singleResult;
          const code = errors?.[0]?.extensions?.code;
          if (!isErrorCode(code) || (data != null && Object.values(data).some((value) => value !== null))) return;
          failGraphQLResponse(response.http, code);
        },
      };
    },
  };
}
