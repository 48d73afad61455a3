// Spectral custom function for the agentyard ruleset (.spectral.yaml, rule
// agentyard-operation-4xx-error-schema). See the convention documented there.
//
// The rule runs with `resolved: false`: once Spectral resolves $refs we can no longer see
// *which* schema a response points at, so this function walks the unresolved document
// (`context.document.data`) and follows local `#/...` refs itself.
//
// Input: one Path Item Object (`given: $.paths[*]`). For every operation in it, report when no
// 4xx response (`4xx` code or `4XX` range) has an `application/json` schema that is a `$ref`
// to an existing `#/components/schemas/<Name>Error`, where the response is either inline or a
// (possibly chained) local `$ref`, e.g. to `#/components/responses/<X>`.
import { createRulesetFunction } from '@stoplight/spectral-core';

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];
const ERROR_SCHEMA_REF = /^#\/components\/schemas\/([^/]*Error)$/;
const CLIENT_ERROR_CODE = /^4(\d\d|XX)$/i;

const isObject = (value) => typeof value === 'object' && value !== null && !Array.isArray(value);

// '#/components/responses/Bad%20Request' -> ['components', 'responses', 'Bad Request']
function pointerTokens(ref) {
  if (typeof ref !== 'string' || !ref.startsWith('#')) return undefined;
  const pointer = decodeURIComponent(ref.slice(1));
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) return undefined;
  return pointer
    .slice(1)
    .split('/')
    .map((token) => token.replace(/~1/g, '/').replace(/~0/g, '~'));
}

// Follow local $refs from `node` (found at `path`) to the node they finally point at.
// Returns {node, path}, or undefined for an external, dangling or circular ref.
function deref(root, node, path) {
  const seen = new Set();
  while (isObject(node) && typeof node.$ref === 'string') {
    if (seen.has(node.$ref)) return undefined;
    seen.add(node.$ref);
    const tokens = pointerTokens(node.$ref);
    if (tokens === undefined) return undefined;
    let target = root;
    for (const token of tokens) {
      if (!isObject(target) && !Array.isArray(target)) return undefined;
      target = target[token];
      if (target === undefined) return undefined;
    }
    node = target;
    path = tokens;
  }
  return { node, path };
}

function isErrorShapeResponse(root, response) {
  const found = deref(root, response, []);
  if (found === undefined || !isObject(found.node)) return false;
  const media = isObject(found.node.content) ? found.node.content['application/json'] : undefined;
  const schema = isObject(media) ? media.schema : undefined;
  if (!isObject(schema) || typeof schema.$ref !== 'string') return false;
  const match = ERROR_SCHEMA_REF.exec(schema.$ref);
  if (match === null) return false;
  const schemas = isObject(root.components) ? root.components.schemas : undefined;
  return isObject(schemas) && Object.prototype.hasOwnProperty.call(schemas, match[1]);
}

export default createRulesetFunction({ input: null, options: null }, (pathItem, _options, context) => {
  const root = context.document.data;
  const found = deref(root, pathItem, context.path);
  if (found === undefined || !isObject(found.node)) return [];
  const results = [];
  for (const method of METHODS) {
    const operation = found.node[method];
    if (!isObject(operation)) continue;
    const responses = isObject(operation.responses) ? operation.responses : {};
    const ok = Object.entries(responses).some(
      ([code, response]) => CLIENT_ERROR_CODE.test(code) && isErrorShapeResponse(root, response),
    );
    if (!ok) {
      const name = operation.operationId || `${method.toUpperCase()} ${String(context.path.at(-1))}`;
      results.push({
        message:
          `Operation "${name}" has no 4xx response whose application/json schema is a $ref ` +
          'to the error shape (#/components/schemas/<Name>Error).',
        path: [...found.path, method, ...('responses' in operation ? ['responses'] : [])],
      });
    }
  }
  return results;
});
