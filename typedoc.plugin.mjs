// TypeDoc plugin for the API reference (loaded by typedoc.json).
//
// TypeDoc converts a class property from its resolved type. For a property typed with another package's
// generic, e.g. ThinClient.actorRef: Actor<typeof clientMachine>, that expands every state, guard and
// action of the machine into the page as undocumented properties (hundreds, none of them API). This
// plugin converts class properties that are written with a type reference from what is written instead,
// so the page shows `Actor<typeof clientMachine>` and validation.notDocumented checks our own names.

import { ReflectionKind } from 'typedoc';
import ts from 'typescript';

/** @param {import('typedoc').Application} app */
export function load(app) {
  const converter = app.converter;
  const convertType = converter.convertType.bind(converter);
  converter.convertType = (context, typeOrNode, maybeNode) => {
    const scope = context.scope;
    if (
      maybeNode &&
      ts.isTypeReferenceNode(maybeNode) &&
      maybeNode.typeArguments?.length &&
      scope.kindOf(ReflectionKind.Property) &&
      scope.parent?.kindOf(ReflectionKind.Class)
    ) {
      return convertType(context, maybeNode);
    }
    return convertType(context, typeOrNode, maybeNode);
  };
}
