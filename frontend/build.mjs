// Bundle each page's script (src/*.js) and the map's stylesheet into the app's static folder.
import { build } from "esbuild";
import { copyFileSync, mkdirSync, readdirSync } from "node:fs";

const out = "../src/landrenew/web/static/dist";
mkdirSync(out, { recursive: true });
const pages = readdirSync("src").filter((f) => f.endsWith(".js") && !f.startsWith("_")).map((f) => `src/${f}`);
await build({ entryPoints: pages, outdir: out, bundle: true, format: "esm", minify: true, sourcemap: false,
              target: "es2020", logLevel: "info", legalComments: "none" });
copyFileSync("node_modules/maplibre-gl/dist/maplibre-gl.css", `${out}/maplibre-gl.css`);
// the API documentation page (/docs) uses Swagger UI's own bundle, served by us
for (const f of ["swagger-ui-bundle.js", "swagger-ui.css"]) copyFileSync(`node_modules/swagger-ui-dist/${f}`, `${out}/${f}`);
