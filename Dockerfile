# syntax=docker/dockerfile:1
#
# One image for both commands:
#   cloud-egress controller ...   (runs as the non-root user 65532, the default)
#   cloud-egress agent ...        (the Helm chart's DaemonSet runs it as root with only NET_ADMIN and NET_RAW)
#
# Node 24 runs the TypeScript sources directly (type stripping), so there is no build step.
#
#   docker build -t cloud-egress:0.1.0 .
#   docker run --rm cloud-egress:0.1.0 --help

ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS dependencies
WORKDIR /app
COPY package.json package-lock.json ./
# Production dependencies only; no install scripts (none of them needs one).
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund \
 && npm cache clean --force

FROM ${NODE_IMAGE}
# The agent's tools: nft (nftables), ip (iproute2), arping -U (iputils-arping), sysctl (procps),
# conntrack -D (conntrack: flushes the connections of an egress IP this node starts or stops holding).
RUN apt-get update \
 && apt-get install -y --no-install-recommends nftables iproute2 iputils-arping procps conntrack ca-certificates \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production
COPY --from=dependencies /app/node_modules ./node_modules
COPY package.json ./
COPY src ./src
COPY providers ./providers
USER 65532:65532
EXPOSE 8080 8081 9796
ENTRYPOINT ["node", "/app/src/cli/main.ts"]
CMD ["--help"]
