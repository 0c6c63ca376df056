import {
  ERRORS,
  isCompositeType,
  isCustomScalarType,
  isEnumType,
  isListType,
  isNonNullType,
  isSubtype,
  typenameFieldName,
  Variable,
  type CompositeType,
  type Directive,
  type NamedType,
  type Operation,
  type Schema,
  type SelectionSet,
  type Type,
} from '@apollo/federation-internals';
import type { GraphQLError } from 'graphql';

/**
 * The response's shape, compiled once per operation from the same federation-internals
 * `Operation` Apollo Gateway's post-processing (`computeResponse` in @apollo/gateway's
 * resultShaping.js) walks on every request, and applied by the same rules: selections in
 * operation order, @skip/@include, `__typename`, type conditions on the runtime type, leaf
 * values checked against their type, nulls bubbling up to the nearest nullable parent, and the
 * same errors with the same messages and paths. What it saves is the per-request work around
 * those rules: building the Operation, looking directives, types and subtypes up again for every
 * value, and a result object for every value set.
 */

/** An `if:` of @skip or @include: a constant, or a variable read at run time. */
interface DirectiveCondition {
  constant?: boolean;
  variable?: string;
  /** For the error Apollo raises on a variable that is not a boolean: `$name` and the directive as written. */
  variableText: string;
  directiveText: string;
}

interface Conditions {
  skip?: DirectiveCondition;
  include?: DirectiveCondition;
}

const enum LeafKind {
  Custom,
  Boolean,
  Int,
  Id,
  Float,
  String,
  Enum,
}

type ValueShape =
  | { kind: 'nonNull'; ofType: ValueShape; ofTypeText: string }
  | { kind: 'list'; ofType: ValueShape; text: string }
  | { kind: 'composite'; type: CompositeType; text: string }
  | { kind: 'leaf'; leaf: LeafKind; enumValues?: ReadonlySet<string>; text: string };

interface FieldShape {
  kind: 'field';
  conditions?: Conditions;
  responseName: string;
  /** False when the name is also a property of every object or array (`constructor`, `length`): read own properties only. */
  plainName: boolean;
  isTypename: boolean;
  value: ValueShape;
  selections?: SelectionShape[];
}

interface FragmentShape {
  kind: 'fragment';
  conditions?: Conditions;
  typeCondition?: CompositeType;
  selections: SelectionShape[];
  /** typeConditionApplies per runtime type, as the same type always gets the same answer. */
  applies: Map<NamedType, boolean>;
}

type SelectionShape = FieldShape | FragmentShape;

/** A compiled operation, or why it cannot be: then Apollo's executor serves it. */
export type ResponseShape = CompiledShape | { supported: false; reason: string };

export interface CompiledShape {
  supported: true;
  selections: SelectionShape[];
  rootType: CompositeType;
  schema: Schema;
  /** The operation's variables' default values. */
  defaults: Record<string, unknown>;
  /** Types by the `__typename` values met so far (only those the schema has). */
  types: Map<string, NamedType>;
}

/** What `computeResponse` returns: the response data and the errors of shaping it. */
export interface ShapedResponse {
  data: Record<string, unknown> | null | undefined;
  errors: GraphQLError[];
}

class Unsupported extends Error {}

const INTEGER_TEXT = /^-?(?:0|[1-9][0-9]*)$/;

/*
 * Applying a shape runs per value of every response, so it calls no function of
 * @apollo/federation-internals but these (its package index turns each call into a getter call),
 * and its per-value checks throw inline, with Apollo's messages, instead of allocating a message closure.
 */
function assert(condition: unknown, message: string | (() => string)): asserts condition {
  if (!condition) throw new Error(typeof message === 'string' ? message : message());
}
const isObjectKind = (type: NamedType) => type.kind === 'ObjectType';
const isCompositeKind = (type: NamedType) => type.kind === 'ObjectType' || type.kind === 'InterfaceType' || type.kind === 'UnionType';

export function compileResponseShape(operation: Operation): ResponseShape {
  const schema = operation.schema();
  const compiled = new Map<SelectionSet, SelectionShape[]>();
  const compileSelections = (selectionSet: SelectionSet): SelectionShape[] => {
    let shapes = compiled.get(selectionSet);
    if (!shapes) {
      shapes = selectionSet.selections().map((selection): SelectionShape => {
        const conditions = conditionsOf(schema, selection.element);
        if (selection.kind === 'FieldSelection') {
          const field = selection.element;
          if (field.definition.isSchemaIntrospectionField()) throw new Unsupported('introspection fields');
          const responseName = field.responseName();
          if (responseName === '__proto__') throw new Unsupported('a field named __proto__');
          return {
            kind: 'field',
            conditions,
            responseName,
            plainName: !(responseName in Object.prototype) && !(responseName in Array.prototype),
            isTypename: field.name === typenameFieldName,
            value: valueShapeOf(schema, field.definition.type!),
            selections: selection.selectionSet ? compileSelections(selection.selectionSet) : undefined,
          };
        }
        return { kind: 'fragment', conditions, typeCondition: selection.element.typeCondition, selections: compileSelections(selection.selectionSet!), applies: new Map() };
      });
      compiled.set(selectionSet, shapes);
    }
    return shapes;
  };
  try {
    const selections = compileSelections(operation.selectionSet);
    const rootType = schema.schemaDefinition.rootType(operation.rootKind)!;
    return { supported: true, selections, rootType, schema, defaults: operation.collectDefaultedVariableValues(), types: new Map() };
  } catch (error) {
    if (error instanceof Unsupported) return { supported: false, reason: error.message };
    throw error;
  }
}

function conditionsOf(schema: Schema, element: { appliedDirectivesOf(definition: unknown): Directive<any, { if?: unknown }>[] }): Conditions | undefined {
  const skip = element.appliedDirectivesOf(schema.skipDirective())[0];
  const include = element.appliedDirectivesOf(schema.includeDirective())[0];
  if (!skip && !include) return undefined;
  return { skip: skip && directiveCondition(skip), include: include && directiveCondition(include) };
}

function directiveCondition(directive: Directive<any, { if?: unknown }>): DirectiveCondition {
  const ifArgument = directive.arguments().if;
  const text = { variableText: String(ifArgument), directiveText: String(directive) };
  return ifArgument instanceof Variable ? { variable: ifArgument.name, ...text } : { constant: ifArgument as boolean, ...text };
}

function valueShapeOf(schema: Schema, type: Type): ValueShape {
  if (isNonNullType(type)) return { kind: 'nonNull', ofType: valueShapeOf(schema, type.ofType), ofTypeText: String(type.ofType) };
  if (isListType(type)) return { kind: 'list', ofType: valueShapeOf(schema, type.ofType), text: String(type) };
  if (isCompositeType(type)) return { kind: 'composite', type, text: String(type) };
  const text = String(type);
  if (isCustomScalarType(type)) return { kind: 'leaf', leaf: LeafKind.Custom, text };
  if (isEnumType(type)) return { kind: 'leaf', leaf: LeafKind.Enum, enumValues: new Set(type.values.map((value) => value.name)), text };
  const builtIn: [NamedType, LeafKind][] = [
    [schema.booleanType(), LeafKind.Boolean],
    [schema.intType(), LeafKind.Int],
    [schema.idType(), LeafKind.Id],
    [schema.floatType(), LeafKind.Float],
  ];
  return { kind: 'leaf', leaf: builtIn.find(([candidate]) => candidate === type)?.[1] ?? LeafKind.String, text };
}

/** federation-internals' isValidLeafValue, on the kind found at compile time. */
function isValidLeaf(value: unknown, shape: { leaf: LeafKind; enumValues?: ReadonlySet<string> }): boolean {
  const leaf = shape.leaf;
  if (leaf === LeafKind.Custom) return true;
  if (typeof value === 'boolean') return leaf === LeafKind.Boolean;
  if (typeof value === 'number' && isFinite(value)) {
    if (leaf === LeafKind.Int || leaf === LeafKind.Id) return INTEGER_TEXT.test(String(value));
    return leaf === LeafKind.Float;
  }
  if (typeof value === 'string') {
    if (leaf === LeafKind.Enum) return shape.enumValues!.has(value);
    return leaf !== LeafKind.Boolean && leaf !== LeafKind.Int && leaf !== LeafKind.Float;
  }
  return false;
}

interface ShapeRun {
  shape: CompiledShape;
  variables: Record<string, unknown>;
  errors: GraphQLError[];
  /** Set by `update` for its caller, as Apollo's updateOutputValue returns them. */
  invalid: boolean;
  hasErrors: boolean;
}

const NULL_BUBBLE_UP = 1;
const OK = 0;
type Path = (string | number)[];
type Output = Record<string, unknown>;

/** `computeResponse` of @apollo/gateway on a compiled shape. */
export function shapeResponse(shape: CompiledShape, input: Output | undefined, variables: Record<string, unknown> | undefined): ShapedResponse {
  if (!input) return { data: input, errors: [] };
  const run: ShapeRun = { shape, variables: { __proto__: null, ...shape.defaults, ...variables }, errors: [], invalid: false, hasErrors: false };
  const data: Output = {};
  const result = applySelections(run, input, shape.selections, data, [], shape.rootType);
  return { data: result === NULL_BUBBLE_UP ? null : data, errors: run.errors };
}

function typeNamed(run: ShapeRun, name: string): NamedType | undefined {
  let type = run.shape.types.get(name);
  if (type === undefined) {
    type = run.shape.schema.type(name);
    if (type) run.shape.types.set(name, type);
  }
  return type;
}

function ifValue(run: ShapeRun, condition: DirectiveCondition): boolean {
  if (condition.variable === undefined) return condition.constant!;
  const value = run.variables[condition.variable];
  assert(value !== undefined && typeof value === 'boolean', () => `Unexpected value ${value} for variable ${condition.variableText} of ${condition.directiveText}`);
  return value;
}

function skipped(run: ShapeRun, conditions: Conditions): boolean {
  return (conditions.skip !== undefined && ifValue(run, conditions.skip)) || (conditions.include !== undefined && !ifValue(run, conditions.include));
}

function typeConditionApplies(run: ShapeRun, fragment: FragmentShape, typename: string | undefined, parentType: CompositeType): boolean {
  const condition = fragment.typeCondition;
  if (!condition) return true;
  const runtime = typename ? typeNamed(run, typename) : parentType;
  if (!runtime) return false;
  let applies = fragment.applies.get(runtime);
  if (applies === undefined) {
    applies = isSubtype(condition, runtime);
    fragment.applies.set(runtime, applies);
  }
  return applies;
}

function own(object: Output, name: string): unknown {
  return Object.prototype.hasOwnProperty.call(object, name) ? object[name] : undefined;
}

function applySelections(run: ShapeRun, input: Output, selections: SelectionShape[], output: Output, path: Path, parentType: CompositeType): number {
  for (let index = 0; index < selections.length; index += 1) {
    const selection = selections[index]!;
    if (selection.conditions !== undefined && skipped(run, selection.conditions)) continue;
    if (selection.kind === 'field') {
      const name = selection.responseName;
      const outputValue = selection.plainName ? output[name] : own(output, name);
      let inputValue = (selection.plainName ? input[name] : own(input, name)) ?? null;
      if (selection.isTypename) {
        if (outputValue === undefined) {
          if (inputValue === null && name !== typenameFieldName) inputValue = input[typenameFieldName] ?? null;
          const type = inputValue !== null && typeof inputValue === 'string' ? (typeNamed(run, inputValue) ?? parentType) : parentType;
          if (!isObjectKind(type)) return NULL_BUBBLE_UP;
          output[name] = type.name;
        }
        continue;
      }
      path.push(name);
      const updated = update(run, outputValue, selection.value, inputValue, selection.selections, path, parentType);
      const invalid = run.invalid;
      output[name] = updated;
      path.pop();
      if (invalid) return NULL_BUBBLE_UP;
    } else {
      const typename = input[typenameFieldName];
      if (typename && typeof typename !== 'string') throw new Error(`Got unexpected value for __typename: ${typename}`);
      if (typeConditionApplies(run, selection, typename as string | undefined, parentType)) {
        if (applySelections(run, input, selection.selections, output, path, selection.typeCondition ?? parentType) === NULL_BUBBLE_UP) return NULL_BUBBLE_UP;
      }
    }
  }
  return OK;
}

function describeLast(path: Path, typeText: string, parentType: CompositeType): string {
  const element = path[path.length - 1];
  assert(element !== undefined, 'Should not have been called on an empty path');
  return typeof element === 'string' ? `field ${parentType}.${element}` : `array element of type ${typeText} at index ${element}`;
}

/** Apollo's updateOutputValue; `run.invalid` and `run.hasErrors` carry its `isInvalid` and `hasErrors`. */
function update(run: ShapeRun, outputValue: unknown, shape: ValueShape, inputValue: unknown, selections: SelectionShape[] | undefined, path: Path, parentType: CompositeType): unknown {
  run.invalid = false;
  run.hasErrors = false;
  if (outputValue === null || (outputValue !== undefined && !selections)) return outputValue;
  switch (shape.kind) {
    case 'nonNull': {
      const updated = update(run, outputValue, shape.ofType, inputValue, selections, path, parentType);
      if (updated === null) {
        if (!run.hasErrors) {
          run.errors.push(ERRORS.INVALID_GRAPHQL.err(`Cannot return null for non-nullable ${describeLast(path, shape.ofTypeText, parentType)}.`, { path: Array.from(path) }));
        }
        run.invalid = true;
        run.hasErrors = true;
        return null;
      }
      run.invalid = false;
      run.hasErrors = false;
      return updated;
    }
    case 'list': {
      if (inputValue === null) return null;
      if (!Array.isArray(inputValue)) throw new Error(`Invalid non-list value ${inputValue} returned by subgraph for list type ${shape.text}`);
      if (!(outputValue === undefined || Array.isArray(outputValue))) throw new Error(`Invalid non-list value ${outputValue} returned by subgraph for list type ${shape.text}`);
      const previous = outputValue as unknown[] | undefined;
      const length = inputValue.length;
      if (!(previous === undefined || length === previous.length)) throw new Error(`[${inputValue}].length (${length}) !== [${previous}].length (${previous!.length})`);
      const updated = new Array<unknown>(length);
      let nullify = false;
      let hasErrors = false;
      for (let index = 0; index < length; index += 1) {
        path.push(index);
        updated[index] = update(run, previous === undefined ? undefined : previous[index], shape.ofType, inputValue[index], selections, path, parentType);
        path.pop();
        nullify ||= run.invalid;
        hasErrors ||= run.hasErrors;
      }
      run.invalid = false;
      run.hasErrors = hasErrors;
      return nullify ? null : updated;
    }
    case 'composite': {
      if (inputValue === null) return null;
      if (!selections) throw new Error(`Invalid empty selection set for composite type ${shape.text}`);
      if (typeof inputValue !== 'object') throw new Error(`Invalid non-object value ${inputValue} returned by subgraph for composite type ${shape.text}`);
      if (!(outputValue === undefined || typeof outputValue === 'object')) throw new Error(`Invalid non-object value ${inputValue} returned by subgraph for composite type ${shape.text}`);
      const input = inputValue as Output;
      const inputTypename = input[typenameFieldName];
      if (!(inputTypename === undefined || typeof inputTypename === 'string')) throw new Error(`Invalid non-string value ${inputTypename} for __typename at ${path}`);
      let objectType = shape.type;
      if (inputTypename) {
        const named = typeNamed(run, inputTypename);
        if (!named || !isCompositeKind(named)) {
          run.errors.push(ERRORS.INVALID_GRAPHQL.err(`Invalid __typename found for object at ${describeLast(path, shape.text, parentType)}.`, { path: Array.from(path) }));
          run.hasErrors = true;
          return null;
        }
        objectType = named as CompositeType;
      }
      const output = (outputValue as Output | undefined) ?? {};
      const bubbled = applySelections(run, input, selections, output, path, objectType) === NULL_BUBBLE_UP;
      run.invalid = false;
      run.hasErrors = bubbled;
      return bubbled ? null : output;
    }
    case 'leaf': {
      if (inputValue === null) return null;
      if (outputValue !== undefined) throw new Error(`Excepted output to be undefined but got ${shape.text} for type ${shape.text}`);
      if (isValidLeaf(inputValue, shape)) return inputValue;
      run.errors.push(ERRORS.INVALID_GRAPHQL.err(`Invalid value found for ${describeLast(path, shape.text, parentType)}.`, { path: Array.from(path) }));
      run.hasErrors = true;
      return null;
    }
  }
}
