/** Per-request state of one client request, shared by the GraphQL route, the REST bridge and the data sources. */
export interface GatewayContext {
  /** The verified token subject; undefined only for the public sign-in operation. */
  userId: string | undefined;
  /** Set by the REST bridge when it already looked this request up in the response cache and missed. */
  cacheKey?: string;
  /** What the subgraph calls of this request reported back. */
  upstream: {
    /** The `Server-Port` of the last product instance that answered. */
    serverPort?: string;
  };
}

export function createContext(userId: string | undefined): GatewayContext {
  return { userId, upstream: {} };
}
