import { AppError, type ErrorCode } from '../../shared/errors';
import { MAX_ID, requireId } from '../../shared/input';

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
  /** 201 for creations, with a Location header. */
  created?: (body: any) => string;
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
const toOrder = (order: OrderData) => ({ order_id: Number(order.id), name: order.name, product_ids: order.productIds.map(Number) });

const id = { type: 'integer', minimum: 1, maximum: MAX_ID };
const MAX_PAGE_SIZE = 1000;

function optionalPageSize(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  const size = typeof value === 'string' && /^\d{1,4}$/.test(value) ? Number(value) : NaN;
  if (!(size >= 1 && size <= MAX_PAGE_SIZE)) {
    throw new AppError('BAD_USER_INPUT', `limit must be a whole number from 1 to ${MAX_PAGE_SIZE}`, { field: 'limit' });
  }
  return size;
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
        properties: { name: { type: 'string' }, supply_price: { type: 'integer', minimum: 0, maximum: MAX_ID } },
      },
    },
    variables: ({ body }) => ({ input: { name: body.name, supplyPrice: body.supply_price } }),
    respond: (data: { createProduct: ProductData }) => toProduct(data.createProduct),
    created: (product: { product_id: number }) => `/products/${product.product_id}`,
  },
  {
    method: 'GET',
    url: '/products',
    operation: 'Products',
    variables: ({ query }) => ({
      first: optionalPageSize(query.limit),
      after: query.after === undefined ? undefined : String(requireId(query.after, 'after')),
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
    schema: {
      body: {
        type: 'object',
        required: ['name', 'product_ids'],
        additionalProperties: false,
        properties: { name: { type: 'string' }, product_ids: { type: 'array', maxItems: 1000, items: id } },
      },
    },
    variables: ({ body }) => ({ input: { name: body.name, productIds: body.product_ids.map(String) } }),
    respond: (data: { createOrder: OrderData }) => toOrder(data.createOrder),
    created: (order: { order_id: number }) => `/order/${order.order_id}`,
  },
  {
    method: 'PUT',
    url: '/order/:orderId',
    operation: 'AddProductToOrder',
    schema: { body: { type: 'object', required: ['product_id'], additionalProperties: false, properties: { product_id: id } } },
    variables: ({ params, body }) => ({ orderId: String(requireId(params.orderId, 'orderId')), productId: String(body.product_id) }),
    respond: (data: { addProductToOrder: OrderData }) => toOrder(data.addProductToOrder),
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
