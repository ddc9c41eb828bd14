// The KTRDR layout of the seeds, used when a repository has no kinfra.yaml. OTLP ports step by 10, not 1: with step 1,
// slot N's HTTP port (4318+N) would be slot N+1's gRPC port (4317+N+1).

import type { ConfigFile } from './schema.js';

export const KTRDR_DEFAULT: ConfigFile = {
  prefix: 'ktrdr',
  compose_files: ['docker-compose.sandbox.yml', 'docker-compose.yml'],
  slots: { max: 10 },
  ports: {
    api: { env: 'KTRDR_API_PORT', base: 8000, step: 1, label: 'Backend', url: 'http://localhost:{port}' },
    db: { env: 'KTRDR_DB_PORT', base: 5432, step: 1, label: 'Database', url: 'localhost:{port}' },
    grafana: { env: 'KTRDR_GRAFANA_PORT', base: 3000, step: 1, label: 'Grafana', url: 'http://localhost:{port}' },
    jaeger_ui: { env: 'KTRDR_JAEGER_UI_PORT', base: 16686, step: 1, label: 'Jaeger', url: 'http://localhost:{port}' },
    jaeger_otlp_grpc: { env: 'KTRDR_JAEGER_OTLP_GRPC_PORT', base: 4317, step: 10, label: 'OTLP gRPC' },
    jaeger_otlp_http: { env: 'KTRDR_JAEGER_OTLP_HTTP_PORT', base: 4318, step: 10, label: 'OTLP HTTP' },
    prometheus: {
      env: 'KTRDR_PROMETHEUS_PORT',
      base: 9090,
      step: 1,
      label: 'Prometheus',
      url: 'http://localhost:{port}',
    },
  },
  workers: { env_prefix: 'KTRDR_WORKER_PORT_', count: 4, base: 5000, step: 10, main: 5003 },
  shared: {
    env: 'KTRDR_SHARED_DIR',
    root: '~/.ktrdr/shared',
    dirs: { data: 'KTRDR_DATA_DIR', models: 'KTRDR_MODELS_DIR', strategies: 'KTRDR_STRATEGIES_DIR' },
  },
  gate: {
    checks: [
      { name: 'Database', kind: 'postgres', port: 'db' },
      { name: 'Backend', kind: 'http', port: 'api', path: '/api/v1/health', status: 200 },
      { name: 'Workers', kind: 'workers', port: 'api', path: '/api/v1/workers', after: ['Backend'] },
      { name: 'Observability', kind: 'http', port: 'jaeger_ui', path: '/', status: [200, 302] },
    ],
  },
  profiles: {
    light: { workers: { backtest: 1, training: 1 } },
    standard: { workers: { backtest: 2, training: 2 } },
    heavy: { workers: { backtest: 4, training: 4 } },
  },
  pool: { slots: { '1': 'light', '2': 'light', '3': 'light', '4': 'light', '5': 'standard', '6': 'heavy' } },
};
