import { hash } from 'node:crypto';
import { BREAK, Kind, visit, type DocumentNode, type FieldNode, type FragmentDefinitionNode, type OperationDefinitionNode, type SelectionSetNode } from 'graphql';
import { Parser } from 'graphql/language/parser';
import { LRUCache } from 'lru-cache';
import { AppError } from '../shared/errors';
import type { OperationLimits } from './plugins/operation-limits';

/** The limits a document must meet before anything validates it. */
export type DocumentLimits = Pick<OperationLimits, 'maxTokens' | 'maxDirectives' | 'maxFragments' | 'maxRepeatedFields' | 'maxCost'>;

/** A client's query text, read once. */
export interface ClientDocument {
  /**
   * sha256 hex of the text, as Apollo computes its `queryHash`, so the cache front and Apollo share
   * entries; empty for a document with no operations, which nothing caches (a refused one may be a
   * megabyte: it is not hashed).
   */
  queryHash: string;
  /** The document's operations; none when it does not parse or is refused. */
  operations: OperationDefinitionNode[];
  /** Why the gateway refuses the document before validation; undefined for a syntax error, which Apollo answers. */
  refusal?: AppError;
}

/** Total length of the query texts kept read, in characters. */
const DOCUMENTS_MAX_CHARS = 4 * 1024 * 1024;

/**
 * Reads client query texts: parses each once, with the token limit enforced while parsing, then
 * checks in linear time what would make validation slow (see `shapeRefusal`), and remembers the
 * result by text. Every part of the gateway that looks into a client's document before Apollo
 * (authentication of anonymous requests, the limits, the cache front, deduplication) reads it
 * here, so none of them parses more than the limits allow.
 */
export function createDocumentReader(limits: DocumentLimits): (query: string) => ClientDocument {
  // Bounded by the texts' total length too: a client sending many large documents must not grow it past that.
  const documents = new LRUCache<string, ClientDocument>({ max: 1000, maxSize: DOCUMENTS_MAX_CHARS, sizeCalculation: (_document, query) => query.length + 1 });
  return (query) => {
    let read = documents.get(query);
    if (read) return read;
    read = readDocument(query, limits);
    // Only documents within the limits are kept: reading another again costs little, and a client
    // sending large refused texts must not push out the ones in use.
    if (read.queryHash) documents.set(query, read);
    return read;
  };
}

const unread = (refusal?: AppError): ClientDocument => ({ queryHash: '', operations: [], refusal });

function readDocument(query: string, limits: DocumentLimits): ClientDocument {
  const parser = new Parser(query, { maxTokens: limits.maxTokens });
  let document: DocumentNode;
  try {
    document = parser.parseDocument();
  } catch (error) {
    if (parser.tokenCount > limits.maxTokens) return unread(new AppError('TOO_MANY_TOKENS', `The document has more than ${limits.maxTokens} tokens`));
    // graphql-js parses nesting recursively: a document nested thousands of levels deep overflows the stack.
    if (error instanceof RangeError) return unread(tooDeep());
    return unread();
  }
  const refusal = shapeRefusal(document, limits);
  if (refusal) return unread(refusal);
  return { queryHash: hash('sha256', query, 'hex'), operations: document.definitions.filter((node): node is OperationDefinitionNode => node.kind === Kind.OPERATION_DEFINITION) };
}

const tooDeep = () => new AppError('QUERY_TOO_DEEP', 'The document nests selections too deeply to be read');

/**
 * What would make graphql-js validation slow, found without it. Its cost is mostly linear in the
 * document, except for two parts that grow with the square of something: the errors it reports
 * (each one locates itself by scanning the text: thousands of repeated directives or unused
 * fragments), and the field-merging rule (OverlappingFieldsCanBeMerged), which compares every
 * pair of fields that share a response name in one selection set, fragments included. So: few
 * directives, few fragments, and few fields under one response name.
 */
function shapeRefusal(document: DocumentNode, limits: DocumentLimits): AppError | undefined {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const definition of document.definitions) {
    if (definition.kind === Kind.FRAGMENT_DEFINITION) fragments.set(definition.name.value, definition);
  }
  if (fragments.size > limits.maxFragments) {
    return new AppError('TOO_MANY_FRAGMENTS', `The document defines ${fragments.size} fragments, over the limit of ${limits.maxFragments}`);
  }
  let directives = 0;
  visit(document, { Directive: () => (++directives > limits.maxDirectives ? BREAK : undefined) });
  if (directives > limits.maxDirectives) {
    return new AppError('TOO_MANY_DIRECTIVES', `The document uses more than ${limits.maxDirectives} directives`);
  }
  const walk = new MergedSelections(fragments, limits);
  try {
    for (const definition of document.definitions) {
      if (definition.kind === Kind.OPERATION_DEFINITION) walk.check([{ set: definition.selectionSet }]);
      else if (definition.kind === Kind.FRAGMENT_DEFINITION) walk.check([{ set: definition.selectionSet, inside: { fragment: definition.name.value } }]);
    }
  } catch (error) {
    if (error instanceof AppError) return error;
    if (error instanceof RangeError) return tooDeep();
    throw error;
  }
  return undefined;
}

/** The fragments a selection lies in, innermost first: expanding one of them again would be a cycle. */
interface Inside {
  fragment: string;
  outer?: Inside;
}

/** A selection set to merge, and the fragments it lies in. */
interface Part {
  set: SelectionSetNode;
  inside?: Inside;
}

function isInside(inside: Inside | undefined, fragment: string): boolean {
  for (let at = inside; at; at = at.outer) if (at.fragment === fragment) return true;
  return false;
}

/**
 * The selection sets of a document as field merging sees them: the fields of a set, of its inline
 * fragments and of the fragments it spreads, grouped by response name; then, for each group, the
 * sub-selections of its fields merged in turn. Counts every field it meets, so its own work is
 * bounded by the cost limit (an operation selecting more fields than that is over it anyway).
 * Like the field-merging rule, it walks a selection set merged on its own once: a fragment chain
 * that doubles at every step (2^30 fields expanded) costs the length of the document.
 */
class MergedSelections {
  private fields = 0;
  /** Selection sets already checked on their own: a fragment spread in many places is walked once, not once a path. */
  private readonly checked = new WeakSet<SelectionSetNode>();

  constructor(
    private readonly fragments: ReadonlyMap<string, FragmentDefinitionNode>,
    private readonly limits: DocumentLimits,
  ) {}

  /** Throws the refusal of the first group over a limit. */
  check(parts: Part[]): void {
    if (parts.length === 1) {
      if (this.checked.has(parts[0]!.set)) return;
      this.checked.add(parts[0]!.set);
    }
    const groups = new Map<string, { field: FieldNode; inside?: Inside }[]>();
    // Field merging compares a fragment spread twice in one selection set once; so is it counted.
    const spread = new Set<string>();
    for (let part = parts.pop(); part; part = parts.pop()) {
      for (const selection of part.set.selections) {
        if (selection.kind === Kind.FIELD) {
          this.count(groups, selection, part.inside);
        } else if (selection.kind === Kind.INLINE_FRAGMENT) {
          parts.push({ set: selection.selectionSet, inside: part.inside });
        } else {
          const name = selection.name.value;
          const fragment = this.fragments.get(name);
          if (!fragment || spread.has(name) || isInside(part.inside, name)) continue;
          spread.add(name);
          parts.push({ set: fragment.selectionSet, inside: { fragment: name, outer: part.inside } });
        }
      }
    }
    for (const group of groups.values()) {
      const sub = group.flatMap(({ field, inside }) => (field.selectionSet ? [{ set: field.selectionSet, inside }] : []));
      if (sub.length > 0) this.check(sub);
    }
  }

  private count(groups: Map<string, { field: FieldNode; inside?: Inside }[]>, field: FieldNode, inside: Inside | undefined): void {
    if (++this.fields > this.limits.maxCost) {
      throw new AppError('QUERY_TOO_COSTLY', `The document selects more than ${this.limits.maxCost} fields, fragments expanded`);
    }
    const name = field.alias?.value ?? field.name.value;
    let group = groups.get(name);
    if (!group) groups.set(name, (group = []));
    group.push({ field, inside });
    if (group.length > this.limits.maxRepeatedFields) {
      throw new AppError(
        'TOO_MANY_REPEATED_FIELDS',
        `"${name}" is selected more than ${this.limits.maxRepeatedFields} times in one selection set, fragments included`,
      );
    }
  }
}

/** The operation a request runs, as Apollo picks it: the one named, or else the document's only one. */
export function operationOf({ operations }: Pick<ClientDocument, 'operations'>, operationName: string | null | undefined): OperationDefinitionNode | undefined {
  if (operationName != null) return operations.find((operation) => operation.name?.value === operationName);
  return operations.length === 1 ? operations[0] : undefined;
}

/** A GraphQL request body of one operation. */
export interface GraphQLBody {
  query: string;
  operationName?: string | null;
  variables?: Record<string, unknown> | null;
}

/** Only plain single requests: no batches, no persisted-query or other extensions. */
export function plainBody(body: unknown): GraphQLBody | undefined {
  if (!body || typeof body !== 'object' || Array.isArray(body)) return undefined;
  const { query, operationName, variables, extensions } = body as Record<string, unknown>;
  if (typeof query !== 'string' || extensions !== undefined) return undefined;
  if (operationName != null && typeof operationName !== 'string') return undefined;
  if (variables != null && (typeof variables !== 'object' || Array.isArray(variables))) return undefined;
  return body as GraphQLBody;
}
