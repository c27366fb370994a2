// /docs: Swagger UI over our OpenAPI document (its bundle is copied from npm by build.mjs).
window.SwaggerUIBundle({ url: "/openapi.json", dom_id: "#swagger", deepLinking: true, tryItOutEnabled: false });
