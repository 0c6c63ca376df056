import { AppError, type ErrorCode } from '../../shared/errors';
import { MAX_ID, MAX_NAME_LENGTH, requireId } from '../../shared/input';
import { addProductsBody, createOrderBody, productIdsToAdd, productIdsToCreate } from './order-bodies';

/** What a route receives from Fastify after the JSON schema check. */
export interface RestInput {
  params: Record<string, string>;
  query: Record<string, string | string[] | undefined>;
  body: any;
}

/** One legacy REST endpoint, served by one stored GraphQL operation. */
export interface RestRoute {
  method: 'GET' | 'POST' | 'PUT';
  url: string;
  /** The operation's name, which is also its file name under schema/operations/rest/. */
  operation: string;
  /** Open without a token (sign-in only). */
  public?: boolean;
  /** Shape check of the JSON body and query string, before any GraphQL runs. */
  schema?: { body?: object; querystring?: object };
  variables(input: RestInput): Record<string, unknown>;
  /** The response body from the operation's data; undefined means the resource does not exist. */
  respond(data: any): unknown;
  /** The error answered when `respond` finds nothing. */
  notFound?: ErrorCode;
  /** For creations: the new resource's path, sent as `Location` (with 200, as the original services answered). */
  location?: (body: any) => string;
}

interface ProductData {
  id: string;
  name: string;
  supplyPrice: number;
}

interface OrderData {
  id: string;
  name: string;
  productIds: string[];
}

const toProduct = (product: ProductData) => ({ product_id: Number(product.id), name: product.name, supply_price: product.supplyPrice });

/** An order in both dialects: `orderItemIds` (the original's name) and `product_ids` are the same list. */
function toOrder(order: OrderData) {
  const productIds = order.productIds.map(Number);
  return { order_id: Number(order.id), name: order.name, orderItemIds: productIds, product_ids: productIds };
}

const MAX_PAGE_SIZE = 1000;

function optionalPageSize(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  const size = typeof value === 'string' && /^\d{1,4}$/.test(value) ? Number(value) : NaN;
  if (!(size >= 1 && size <= MAX_PAGE_SIZE)) {
    throw new AppError('BAD_USER_INPUT', `limit must be a whole number from 1 to ${MAX_PAGE_SIZE}`, { field: 'limit' });
  }
  return size;
}

/** `?name=`: only products whose name contains it; empty is no filter, as in the original. */
function optionalNameFilter(value: unknown): string | undefined {
  if (value === undefined || value === '') return undefined;
  if (typeof value !== 'string') throw new AppError('BAD_USER_INPUT', 'name must be given at most once', { field: 'name' });
  if ([...value].length > MAX_NAME_LENGTH) throw new AppError('BAD_USER_INPUT', `name must be at most ${MAX_NAME_LENGTH} characters`, { field: 'name' });
  return value;
}

/** The legacy contract, route by route. */
export const restRoutes: readonly RestRoute[] = [
  {
    method: 'GET',
    url: '/auth/signIn',
    operation: 'SignIn',
    public: true,
    schema: { querystring: { type: 'object', required: ['user_id'], properties: { user_id: { type: 'string' } } } },
    variables: ({ query }) => ({ userId: query.user_id }),
    respond: (data: { signIn: { accessToken: string } }) => ({ access_token: data.signIn.accessToken }),
  },
  {
    method: 'POST',
    url: '/products',
    operation: 'CreateProduct',
    schema: {
      body: {
        type: 'object',
        required: ['name', 'supply_price'],
        additionalProperties: false,
        properties: {
          // The original DTO's id, which a Jackson client sends on a create too (null): accepted, never used.
          product_id: { type: ['integer', 'null'] },
          name: { type: 'string' },
          supply_price: { type: 'integer', minimum: 0, maximum: MAX_ID },
        },
      },
    },
    variables: ({ body }) => ({ input: { name: body.name, supplyPrice: body.supply_price } }),
    respond: (data: { createProduct: ProductData }) => toProduct(data.createProduct),
    location: (product: { product_id: number }) => `/products/${product.product_id}`,
  },
  {
    method: 'GET',
    url: '/products',
    operation: 'Products',
    // `product_id` and `supply_price`, which the original's clients may send, are ignored like any other parameter.
    variables: ({ query }) => ({
      first: optionalPageSize(query.limit),
      after: query.after === undefined ? undefined : String(requireId(query.after, 'after')),
      nameContains: optionalNameFilter(query.name),
    }),
    respond: (data: { products: ProductData[] }) => data.products.map(toProduct),
  },
  {
    method: 'GET',
    url: '/products/:productId',
    operation: 'Product',
    variables: ({ params }) => ({ id: String(requireId(params.productId, 'productId')) }),
    respond: (data: { product: ProductData | null }) => data.product && toProduct(data.product),
    notFound: 'PRODUCT_NOT_FOUND',
  },
  {
    method: 'POST',
    url: '/order',
    operation: 'CreateOrder',
    schema: { body: createOrderBody },
    variables: ({ body }) => ({ input: { name: body.name, productIds: productIdsToCreate(body) } }),
    respond: (data: { createOrder: OrderData }) => toOrder(data.createOrder),
    location: (order: { order_id: number }) => `/order/${order.order_id}`,
  },
  {
    method: 'PUT',
    url: '/order/:orderId',
    operation: 'AddProductsToOrder',
    schema: { body: addProductsBody },
    variables: ({ params, body }) => ({ orderId: String(requireId(params.orderId, 'orderId')), productIds: productIdsToAdd(body) }),
    respond: (data: { addProductsToOrder: OrderData }) => toOrder(data.addProductsToOrder),
  },
  {
    method: 'GET',
    url: '/order/:orderId',
    operation: 'Order',
    variables: ({ params }) => ({ id: String(requireId(params.orderId, 'orderId')) }),
    respond: (data: { order: OrderData | null }) => data.order && toOrder(data.order),
    notFound: 'ORDER_NOT_FOUND',
  },
];
