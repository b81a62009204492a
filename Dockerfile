# Runs the same gateway outside Databricks Apps: Node 22 + Python with the pinned
# mlflow. Local mode by default (SQLite and artifacts in /data); pass the Databricks
# variables from README.md to use a workspace instead.
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
RUN npm run build && npm prune --omit=dev

RUN mkdir /data && chown node:node /data
USER node
ENV PORT=8000 GATEWAY_DATA_DIR=/data
VOLUME /data
EXPOSE 8000
CMD ["node", "dist/main.js"]
