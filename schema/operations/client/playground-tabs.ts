import { join } from 'node:path';
import type { PlaygroundTab } from '../../../gateway/plugins/playground';
import { ROOT } from '../../subgraphs';

/** Where the client operations are: codegen types them, the playground opens them as its tabs. */
export const CLIENT_OPERATIONS_DIR = join(ROOT, 'schema', 'operations', 'client');

/** The playground's preset tabs: sign-in, then products and orders, in the order a newcomer tries them. */
export const playgroundTabs: readonly PlaygroundTab[] = [
  {
    operations: ['SignIn'],
    variables: { userId: 'alice' },
    needsToken: false,
    intro: [
      'Every operation but signIn needs a token:',
      '1. Run SignIn (the play button or Ctrl-Enter).',
      '2. In the other tabs, paste its accessToken',
      '   into Headers as "Authorization": "Bearer ..."',
      '3. The play button lists the operations of a tab.',
    ],
  },
  {
    operations: ['CreateProduct', 'Products', 'Product'],
    variables: { input: { name: 'Keyboard', supplyPrice: 1000 }, first: 10, id: '1' },
    needsToken: true,
  },
  {
    operations: ['CreateOrder', 'AddProductToOrder', 'AddProductsToOrder', 'Order'],
    variables: { input: { name: 'first order', productIds: ['1'] }, orderId: '1', productId: '1', productIds: ['1', '1'], id: '1' },
    needsToken: true,
  },
];
