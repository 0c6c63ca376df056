import type { BalancedFetch } from '../../shared/balanced-fetch';
import { AppError } from '../../shared/errors';
import { PROOF_HEADER, signProof, type SubgraphProofSettings } from '../../shared/subgraph-proof';

/** The standard federation entity query: the product subgraph answers null for ids it does not have. */
const EXISTING_PRODUCTS = 'query ExistingProducts($representations: [_Any!]!) { _entities(representations: $representations) { ... on Product { id } } }';

interface EntitiesResponse {
  data?: { _entities?: ({ id: string } | null)[] } | null;
  errors?: { extensions?: { code?: unknown } }[];
}

/** Asks the product service which product ids exist, in one batched call over its instances. */
export class ProductDirectory {
  constructor(
    private readonly fetchProducts: BalancedFetch,
    /** The product subgraph, like every subgraph, executes only calls that carry a proof. */
    private readonly proof: SubgraphProofSettings,
  ) {}

  /** The ids among `ids` that name no product, each once, in the order first given. */
  async missing(ids: readonly number[]): Promise<number[]> {
    const unique = [...new Set(ids)];
    if (unique.length === 0) return [];
    const response = await this.fetchProducts('', {
      method: 'POST',
      headers: { 'content-type': 'application/json', [PROOF_HEADER]: signProof(this.proof, undefined, EXISTING_PRODUCTS) },
      body: JSON.stringify({
        query: EXISTING_PRODUCTS,
        variables: { representations: unique.map((id) => ({ __typename: 'Product', id: String(id) })) },
      }),
    });
    const body = (await response.json().catch(() => ({}))) as EntitiesResponse;
    const entities = body.data?._entities;
    // The product service answered, but its database did not: that is the cause to report.
    if (Array.isArray(body.errors) && body.errors.some((error) => error?.extensions?.code === 'DATABASE_UNAVAILABLE')) {
      throw new AppError('DATABASE_UNAVAILABLE', "The product service's database is unavailable: the product ids cannot be checked");
    }
    if (!response.ok || body.errors || !Array.isArray(entities) || entities.length !== unique.length) {
      throw new AppError('UPSTREAM_UNAVAILABLE', 'The product service could not check the product ids');
    }
    return unique.filter((_id, index) => entities[index] == null);
  }
}
