# Sluice gateway image: `docker build -t sluice .`, then
# `docker run -p 8080:8080 sluice` (the embedded default on the simulator, SQLite in /data), or
# mount a config and run `serve --config /etc/sluice/sluice.yaml` (deploy/compose.yaml does).

# Build: compile TypeScript with the dev dependencies, which stay in this stage.
FROM node:20.18-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json ./
# --ignore-scripts: `prepare` would compile before the sources are copied.
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY src ./src
# tsconfig includes test/ and bench/, absent here: only src/ is compiled.
RUN npx tsc -p tsconfig.json

# Runtime: production dependencies and the compiled sources only, run as the unprivileged `node`
# user. bookworm (glibc) because libsql ships prebuilt binaries for it.
FROM node:20.18-bookworm-slim
ENV NODE_ENV=production
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist/src ./dist/src
# The status page's and the dashboard's files (read once at start; uPlot comes from node_modules).
COPY public ./public
# /data holds the SQLite file and the ledger's journal: the journal is the only copy of usage
# not yet committed to the store, so keep it on a volume that outlives the container.
RUN mkdir /data && chown node:node /data
USER node
WORKDIR /data
VOLUME ["/data"]
EXPOSE 8080
# /ready answers 200 only while the store answers. Node's fetch: the slim image has no curl.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.SLUICE_PORT || 8080) + '/ready').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# Listen on every interface: the embedded default's 127.0.0.1 is unreachable from outside.
CMD ["node", "/app/dist/src/cli/main.js", "serve", "--host", "0.0.0.0"]
