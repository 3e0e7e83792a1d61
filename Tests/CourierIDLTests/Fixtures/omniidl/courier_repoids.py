# An omniidl back end for the CourierIDL tests: prints, for every declaration with a
# repository id that omniidl's front end saw (the main file's and its includes'), one line
#   <main file> TAB <scoped name> TAB <repository id>
# Run as: omniidl -p <this directory> -bcourier_repoids -I... files...
from omniidl import idlast

def _walk(node, out):
    if isinstance(node, idlast.Module):
        out.append(node)
        for d in node.definitions():
            _walk(d, out)
    elif isinstance(node, idlast.Interface):
        out.append(node)
        for d in node.contents():
            _walk(d, out)
    elif isinstance(node, (idlast.Value, idlast.ValueAbs)):
        out.append(node)
        for d in node.contents():
            _walk(d, out)
    elif isinstance(node, idlast.ValueBox):
        out.append(node)
        if node.constrType():
            _walk(node.boxedType().decl(), out)
    elif isinstance(node, idlast.StateMember):
        if node.constrType():
            _walk(node.memberType().decl(), out)
    elif isinstance(node, idlast.Typedef):
        if node.constrType():
            _walk(node.aliasType().decl(), out)
        for d in node.declarators():
            out.append(d)
    elif isinstance(node, (idlast.Struct, idlast.Exception)):
        out.append(node)
        for m in node.members():
            if m.constrType():
                _walk(m.memberType().decl(), out)
    elif isinstance(node, idlast.Union):
        out.append(node)
        if node.constrType():
            _walk(node.switchType().decl(), out)
        for c in node.cases():
            if c.constrType():
                _walk(c.caseType().decl(), out)
    elif isinstance(node, (idlast.Enum, idlast.Const, idlast.Native, idlast.Forward,
                           idlast.StructForward, idlast.UnionForward, idlast.ValueForward)):
        out.append(node)

def run(tree, args):
    decls = []
    for d in tree.declarations():
        _walk(d, decls)
    for d in decls:
        print("%s\t%s\t%s" % (tree.file(), "::".join(d.scopedName()), d.repoId()))
