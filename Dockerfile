# Runs the same gateway outside Databricks Apps: Node 22 + Python with the pinned
# mlflow. Local mode by default (SQLite and artifacts in /app/.data) as one developer
# identity, so publish the port on the host's loopback only:
#   docker run -p 127.0.0.1:8000:8000 -v mlflow-data:/app/.data <image>
# Pass the Databricks variables from docs/configuration.md (and GATEWAY_IDENTITY_MODE=headers or
# token behind an identity-aware proxy) to serve a team from a workspace instead.
FROM node:22-bookworm-slim

RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 python3-venv \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app

# The virtualenv first: it changes least often and takes longest.
COPY requirements.txt ./
RUN python3 -m venv /app/.venv \
 && /app/.venv/bin/pip install --no-cache-dir --disable-pip-version-check -r requirements.txt

COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY python ./python
RUN npm run build && npm prune --omit=dev

RUN mkdir /app/.data && chown node:node /app/.data
USER node
ENV PORT=8000 GATEWAY_LISTEN_HOST=0.0.0.0 GATEWAY_ALLOW_LOCAL_IDENTITY_ON_NETWORK=true
VOLUME /app/.data
EXPOSE 8000
CMD ["node", "dist/main.js"]
