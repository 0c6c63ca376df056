/**
 * What our gateway is told to serve The Guild's benchmark, beyond the supergraph and the subgraph
 * URLs. Hive Gateway and the stock Apollo Gateway run with their defaults.
 */
export const OUR_GATEWAY_SETTINGS: Record<string, string> = {
  // graphql-armor counts the query 10 levels deep (its fragments included); our default of 8
  // refuses it. Its cost and aliases are within our defaults. Neither competitor limits depth.
  GRAPHQL_MAX_DEPTH: '10',
  // Hive Gateway has no response cache unless configured, so ours is off too: every request is
  // planned, fetched and merged, which is what the benchmark measures.
  RESPONSE_CACHE: 'off',
  // The benchmark runs no auth subgraph: the bench signs its token with the shared secret. A
  // token verified once costs the same in either mode (the verified-token cache answers).
  JWT_MODE: 'hs256',
};
