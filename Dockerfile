# One image for every process of the platform; docker-compose.yml picks the process with `command`.
# Build: docker build -t federation-platform .

# Node 24 is the container target (docs/architecture.md#sqlite-on-every-node).
ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS build
# better-sqlite3 compiles from source when no prebuilt binary matches this Node and CPU; the
# toolchain stays in this stage and never reaches the runtime image.
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# The lockfile alone decides the dependency layer, so source edits do not reinstall.
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
# Compiled to plain JavaScript in dist/ (a type error fails the build instead of shipping): the
# processes run it with node alone, which keeps a TypeScript loader and its source maps out of
# every process's memory (bench/README.md#memory). Then only production dependencies stay.
RUN npm run build \
 && npm prune --omit=dev --no-audit --no-fund

FROM ${NODE_IMAGE} AS runtime
ENV NODE_ENV=production
# Memory (bench/README.md#memory): V8's young generation no larger than Node 20's default (on
# Node 24 it grows to 128 MB, and the gateway's RSS under load with it), and two malloc arenas
# instead of glibc's eight a core, which V8's and libuv's threads otherwise spread freed memory
# over. Every process of the image (compose and the Kubernetes manifests) gets both; npm's start
# scripts set the same.
ENV NODE_OPTIONS=--max-semi-space-size=16
ENV MALLOC_ARENA_MAX=2
WORKDIR /app
# Code and dependencies belong to root and are read-only for the process; only DATA_DIR (used when
# no DATABASE_URL or JWT_SECRET is given) is writable.
COPY --from=build /app ./
RUN install -d -o node -g node /app/data
# The image's unprivileged user (uid 1000).
USER node
# Processes run as `node dist/<entry>.js`, not through npm: `npm run` starts sh as a child and,
# on SIGTERM, exits without passing the signal on, so `docker stop` would skip the graceful close
# and SIGKILL the server ten seconds later. Run directly, node is PID 1 and its own SIGTERM
# handler closes the server. The .graphql files are read from the source tree beside dist/.
CMD ["node", "dist/gateway/index.js"]
