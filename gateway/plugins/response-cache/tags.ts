import {
  getNamedType,
  getNullableType,
  isListType,
  isObjectType,
  Kind,
  valueFromASTUntyped,
  type FieldNode,
  type GraphQLField,
  type GraphQLObjectType,
  type GraphQLSchema,
  type OperationDefinitionNode,
} from 'graphql';

/** The root fields of an operation with their definitions, or undefined if any is behind a fragment. */
function rootFields(rootType: GraphQLObjectType | null | undefined, operation: OperationDefinitionNode) {
  if (!rootType) return undefined;
  const fields: { node: FieldNode; field: GraphQLField<unknown, unknown> }[] = [];
  for (const selection of operation.selectionSet.selections) {
    if (selection.kind !== Kind.FIELD) return undefined;
    if (selection.name.value === '__typename') continue;
    const field = rootType.getFields()[selection.name.value];
    if (!field) return undefined;
    fields.push({ node: selection, field });
  }
  return fields;
}

/**
 * The tags a query depends on: `T:*` for every object type T it returns at its root, plus `T:<id>`
 * for a single entity fetched by an `id` argument, or `T:list` otherwise. Undefined when the
 * query's shape is not understood (root fragments), which makes it uncached.
 */
export function readTags(schema: GraphQLSchema, operation: OperationDefinitionNode, variables: Record<string, unknown>): string[] | undefined {
  const fields = rootFields(schema.getQueryType(), operation);
  if (!fields) return undefined;
  const tags = new Set<string>();
  for (const { node, field } of fields) {
    const type = getNamedType(field.type);
    if (!isObjectType(type)) continue;
    tags.add(`${type.name}:*`);
    const idArgument = node.arguments?.find((argument) => argument.name.value === 'id');
    const id = idArgument && !isListType(getNullableType(field.type)) ? valueFromASTUntyped(idArgument.value, variables) : undefined;
    tags.add(id === undefined || id === null ? `${type.name}:list` : `${type.name}:${String(id)}`);
  }
  return [...tags].sort();
}

/**
 * The tags a mutation's result invalidates: for each returned object of type T, `T:<id>` and
 * `T:list`; when an object carries no `id` (not selected), `T:*`, which covers every query of T.
 */
export function writeTags(schema: GraphQLSchema, operation: OperationDefinitionNode, data: Record<string, unknown>): string[] {
  const tags = new Set<string>();
  for (const { node, field } of rootFields(schema.getMutationType(), operation) ?? []) {
    const type = getNamedType(field.type);
    if (!isObjectType(type)) continue;
    const value = data[node.alias?.value ?? node.name.value];
    for (const item of Array.isArray(value) ? value : [value]) {
      if (item === null || typeof item !== 'object') continue;
      const id = (item as { id?: unknown }).id;
      if (id === undefined || id === null) tags.add(`${type.name}:*`);
      else tags.add(`${type.name}:${String(id)}`).add(`${type.name}:list`);
    }
  }
  return [...tags].sort();
}
