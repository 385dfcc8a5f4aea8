/**
 * The records of src/inspector/records.ts as a tree: the client at the top; its connection,
 * registry, operations, copy streams and windows below it; a window's box operations below the
 * window. The same model the page draws (served as JSON at `/tree`), with the page's filters.
 */
import { type NodeKind, STRUCTURAL_KINDS } from './kinds.js';
import type { NodeRecord, Phase } from './records.js';

/** One node of `buildTree`'s tree. */
export interface TreeNode {
  /** The node's record. */
  record: NodeRecord;
  /** 1 for the client (aria-level counts from 1). */
  level: number;
  /** The records under it, oldest first. */
  children: TreeNode[];
}

/** Which operations `buildTree` keeps. */
export interface TreeFilter {
  /** Only these kinds of operation (all when empty or absent). */
  kinds?: readonly NodeKind[];
  /** Only operations in these phases (all when empty or absent). */
  phases?: readonly Phase[];
  /** Leave out operations that have finished. */
  hideFinished?: boolean;
}

/** Whether an operation passes the filter; the client's own actors always do. */
export function passes(record: NodeRecord, filter: TreeFilter = {}): boolean {
  if (STRUCTURAL_KINDS.has(record.kind)) return true;
  if (filter.hideFinished && record.phase !== 'active') return false;
  if (filter.kinds?.length && !filter.kinds.includes(record.kind)) return false;
  if (filter.phases?.length && !filter.phases.includes(record.phase)) return false;
  return true;
}

/**
 * The tree of `records` (in the order given, which is creation order). A record whose parent is not
 * (or no longer) recorded hangs under the root. A node is kept when it passes the filter or one of
 * its descendants does, so a window stays visible above a box operation that matches.
 */
export function buildTree(records: readonly NodeRecord[], filter: TreeFilter = {}): TreeNode[] {
  const byId = new Map(records.map((r) => [r.id, r]));
  const children = new Map<string | undefined, NodeRecord[]>();
  const root = records.find((r) => r.parent === undefined)?.id;
  for (const r of records) {
    let parent = r.parent !== undefined && byId.has(r.parent) ? r.parent : undefined;
    if (parent === undefined && r.id !== root) parent = root;
    const list = children.get(parent) ?? [];
    list.push(r);
    children.set(parent, list);
  }
  const grow = (parent: string | undefined, level: number): TreeNode[] =>
    (children.get(parent) ?? []).flatMap((record) => {
      const kids = grow(record.id, level + 1);
      return passes(record, filter) || kids.length > 0 ? [{ record, level, children: kids }] : [];
    });
  return grow(undefined, 1);
}
