import type { DocumentTypeDecoration } from '@graphql-typed-document-node/core';
import { GraphQLClientError, type GraphQLErrorEntry } from './errors';
import {
  AddProductToOrderDocument,
  AddProductsToOrderDocument,
  CreateOrderDocument,
  CreateProductDocument,
  OrderDocument,
  ProductDocument,
  ProductsDocument,
  SignInDocument,
  type AddProductToOrderMutation,
  type AddProductsToOrderMutation,
  type CreateOrderInput,
  type CreateOrderMutation,
  type CreateProductInput,
  type CreateProductMutation,
  type OrderQuery,
  type ProductQuery,
  type ProductsQuery,
  type ProductsQueryVariables,
  type SignInMutation,
} from './generated/graphql';

export { GraphQLClientError, type ClientErrorCode, type GraphQLErrorEntry } from './errors';
export type * from './generated/graphql';

export interface ClientOptions {
  /** The gateway's GraphQL endpoint, e.g. `http://localhost:19091/graphql`. */
  url: string;
  /** An access token from an earlier sign-in; `signIn` replaces it. */
  token?: string;
  /** The fetch to use (a test double, a proxy-aware one). @default globalThis.fetch */
  fetch?: typeof fetch;
  /** Abandon a request after this many milliseconds. @default 10000 */
  timeoutMs?: number;
}

/**
 * A generated document: its text, typed with the result and variables it goes with, and, for the
 * generated ones, the hash of its trusted form in `__meta__.hash` (client/generated/persisted-documents.json).
 */
export type TypedDocument<TResult, TVariables> = DocumentTypeDecoration<TResult, TVariables> & {
  toString(): string;
  __meta__?: { hash?: unknown } | undefined;
};

/** The body of a request: the document's text, or its hash as Apollo's APQ extension names it. */
type RequestBody =
  | { query: string; variables: unknown }
  | { variables: unknown; extensions: { persistedQuery: { version: 1; sha256Hash: string } } };

export type Product = ProductsQuery['products'][number];
export type Order = NonNullable<OrderQuery['order']>;
export type SignInPayload = SignInMutation['signIn'];

/**
 * A typed client for the platform's GraphQL API: one method per operation in
 * `schema/operations/client/`, each returning exactly what that operation selects. A failed
 * request throws a `GraphQLClientError` carrying the server's `extensions.code`.
 */
export class PlatformClient {
  private accessToken: string | undefined;
  private readonly fetch: typeof fetch;
  private readonly timeoutMs: number;
  /** Hashes the gateway did not know (PERSISTED_QUERY_NOT_FOUND): their documents are sent as text from then on. */
  private readonly unknownHashes = new Set<string>();

  constructor(private readonly options: ClientOptions) {
    this.accessToken = options.token;
    this.fetch = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.timeoutMs = options.timeoutMs ?? 10_000;
  }

  /** The token requests are sent with, if signed in. */
  get token(): string | undefined {
    return this.accessToken;
  }

  /** Signs in as `userId`; later requests carry the token. */
  async signIn(userId: string): Promise<SignInPayload> {
    const { signIn } = await this.request(SignInDocument, { userId });
    this.accessToken = signIn.accessToken;
    return signIn;
  }

  /** Products in id order: all of them, or a page of `first` after the id `after`; `nameContains` filters by name, ignoring case. */
  async products(page: ProductsQueryVariables = {}): Promise<Product[]> {
    return (await this.request(ProductsDocument, page)).products;
  }

  /** One product, or null when no product has this id. */
  async product(id: string): Promise<ProductQuery['product']> {
    return (await this.request(ProductDocument, { id })).product;
  }

  async createProduct(input: CreateProductInput): Promise<CreateProductMutation['createProduct']> {
    return (await this.request(CreateProductDocument, { input })).createProduct;
  }

  /** Fails with UNKNOWN_PRODUCTS (the ids in `extensions.productIds`), writing nothing. */
  async createOrder(input: CreateOrderInput): Promise<CreateOrderMutation['createOrder']> {
    return (await this.request(CreateOrderDocument, { input })).createOrder;
  }

  /** Fails with ORDER_NOT_FOUND or UNKNOWN_PRODUCTS. */
  async addProductToOrder(orderId: string, productId: string): Promise<AddProductToOrderMutation['addProductToOrder']> {
    return (await this.request(AddProductToOrderDocument, { orderId, productId })).addProductToOrder;
  }

  /** Appends every product, in order, or none: fails with ORDER_NOT_FOUND or UNKNOWN_PRODUCTS, writing nothing. */
  async addProductsToOrder(orderId: string, productIds: string[]): Promise<AddProductsToOrderMutation['addProductsToOrder']> {
    return (await this.request(AddProductsToOrderDocument, { orderId, productIds })).addProductsToOrder;
  }

  /** One of the signed-in user's orders with its products, or null when they have no such order. */
  async order(id: string): Promise<Order | null> {
    return (await this.request(OrderDocument, { id })).order;
  }

  /**
   * Runs any typed document (e.g. one generated from your own operations) and returns its data. A
   * generated document is sent by its hash, which a gateway running trusted documents knows; a
   * gateway that answers PERSISTED_QUERY_NOT_FOUND (one in `PERSISTED_DOCUMENTS=allow` mode without
   * this manifest) gets the text instead, then and from then on.
   */
  async request<TResult, TVariables>(document: TypedDocument<TResult, TVariables>, variables: TVariables): Promise<TResult> {
    const hash = document.__meta__?.hash;
    let response: Response;
    let body: { data?: unknown; errors?: GraphQLErrorEntry[] };
    if (typeof hash === 'string' && !this.unknownHashes.has(hash)) {
      response = await this.post({ variables, extensions: { persistedQuery: { version: 1, sha256Hash: hash } } });
      body = await readBody(response);
      if (body.errors?.[0]?.extensions?.code !== 'PERSISTED_QUERY_NOT_FOUND') return dataOf<TResult>(response, body);
      this.unknownHashes.add(hash);
    }
    response = await this.post({ query: document.toString(), variables });
    return dataOf<TResult>(response, await readBody(response));
  }

  private async post(payload: RequestBody): Promise<Response> {
    const headers: Record<string, string> = {
      'content-type': 'application/json',
      accept: 'application/graphql-response+json, application/json',
    };
    if (this.accessToken !== undefined) headers.authorization = `Bearer ${this.accessToken}`;
    try {
      return await this.fetch(this.options.url, {
        method: 'POST',
        headers,
        body: JSON.stringify(payload),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      throw new GraphQLClientError('NETWORK_ERROR', `${this.options.url} did not answer: ${(error as Error).message}`, 0, [], { cause: error });
    }
  }
}

/** The data of a response, or the GraphQLClientError of its first error. */
function dataOf<TResult>(response: Response, body: { data?: unknown; errors?: GraphQLErrorEntry[] }): TResult {
  const errors = body.errors ?? [];
  if (errors.length > 0) {
    const first = errors[0]!;
    throw new GraphQLClientError(first.extensions?.code ?? 'INTERNAL_SERVER_ERROR', first.message, response.status, errors);
  }
  if (!response.ok || body.data == null) {
    throw new GraphQLClientError('UNEXPECTED_RESPONSE', `HTTP ${response.status} without data`, response.status);
  }
  return body.data as TResult;
}

/** Reads a GraphQL JSON body; anything else (a proxy's HTML error page) is UNEXPECTED_RESPONSE. */
async function readBody(response: Response): Promise<{ data?: unknown; errors?: GraphQLErrorEntry[] }> {
  const text = await response.text();
  try {
    const body: unknown = JSON.parse(text);
    if (body !== null && typeof body === 'object') return body;
  } catch {
    // reported below, with the status
  }
  throw new GraphQLClientError('UNEXPECTED_RESPONSE', `HTTP ${response.status}: the response is not GraphQL JSON`, response.status);
}

/** A client for the gateway at `options.url`. */
export function createClient(options: ClientOptions): PlatformClient {
  return new PlatformClient(options);
}
