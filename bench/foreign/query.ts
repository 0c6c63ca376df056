/**
 * The query of The Guild's gateways benchmark (federation-v1/scenarios/k6.shared.js in
 * the-guild-org/gateways-benchmark): nine levels deep, across all four subgraphs, with a
 * `@requires` field on every product.
 */
export const BENCHMARK_QUERY = `fragment User on User {
  id
  username
  name
}

fragment Review on Review {
  id
  body
}

fragment Product on Product {
  inStock
  name
  price
  shippingEstimate
  upc
  weight
}

query TestQuery {
  users {
    ...User
    reviews {
      ...Review
      product {
        ...Product
        reviews {
          ...Review
          author {
            ...User
            reviews {
              ...Review
              product {
                ...Product
              }
            }
          }
        }
      }
    }
  }
  topProducts {
    ...Product
    reviews {
      ...Review
      author {
        ...User
        reviews {
          ...Review
          product {
            ...Product
          }
        }
      }
    }
  }
}`;

/** The request body every gateway is sent. */
export const BENCHMARK_BODY = JSON.stringify({ query: BENCHMARK_QUERY });
