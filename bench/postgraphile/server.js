// PostGraphile (v4, library mode) on the benchmark database, for comparison with `saas serve`.
//
// It connects as the application role (no BYPASSRLS), so row-level security applies, and
// sets `app.tenant_id` per request from the same token our API issues (HS256 JWT, claim
// `tid`): PostGraphile then runs each request as
//   BEGIN; SELECT set_config('app.tenant_id', ..., true); <one compiled statement>; COMMIT
// which is its standard way to serve a multi-tenant database under RLS (pgSettings).
//
// Environment: PG_URL (as the app role), PORT, WORKERS (node cluster processes, default 1),
// SECRET_KEY (the API's secret, default the development one), POOL_SIZE (per process, default 20),
// MUTATIONS (1: PostGraphile's default CRUD mutations on, for bench/writes.py; reads are the same
// either way). Its inserts name `tenantId` in the input: the policy's WITH CHECK needs it.

const cluster = require("cluster");
const http = require("http");
const { Pool } = require("pg");
const jwt = require("jsonwebtoken");
const { postgraphile } = require("postgraphile");

const WORKERS = parseInt(process.env.WORKERS || "1", 10);
const PORT = parseInt(process.env.PORT || "5000", 10);
const SECRET = process.env.SECRET_KEY || "development-secret-do-not-use-in-production-0123456789";
const MUTATIONS = process.env.MUTATIONS === "1";

if (cluster.isPrimary && WORKERS > 1) {
  for (let i = 0; i < WORKERS; i++) cluster.fork();
  cluster.on("exit", (worker, code) => {
    console.error(`worker ${worker.process.pid} exited with ${code}`);
    process.exit(1);
  });
  process.on("SIGTERM", () => {
    for (const id in cluster.workers) cluster.workers[id].kill("SIGTERM");
    process.exit(0);
  });
} else {
  const pool = new Pool({ connectionString: process.env.PG_URL, max: parseInt(process.env.POOL_SIZE || "20", 10) });
  const middleware = postgraphile(pool, "public", {
    pgSettings: async (req) => {
      const header = req.headers.authorization || "";
      if (!header) return {}; // no tenant: row-level security shows no rows
      const claims = jwt.verify(header.replace(/^Bearer /, ""), SECRET, { algorithms: ["HS256"], audience: "saas-crm" });
      return { "app.tenant_id": claims.tid };
    },
    simpleCollections: "both",
    disableDefaultMutations: !MUTATIONS,
    dynamicJson: true,
    disableQueryLog: true,
    enableCors: false,
    graphiql: false,
    retryOnInitFail: false,
    extendedErrors: ["hint", "detail", "errcode"],
  });
  const server = http.createServer(middleware);
  server.keepAliveTimeout = 65000;
  server.listen(PORT, "127.0.0.1", () => console.error(`postgraphile worker ${process.pid} on ${PORT}`));
  process.on("SIGTERM", () => server.close(() => pool.end().then(() => process.exit(0))));
}
