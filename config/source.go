package config

import (
	"strconv"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// secretSource names the source of a secret attribute when its value is one
// env("NAME") or file("PATH") call with a literal argument, as the call is
// written (`env("DBOPS_PASSPHRASE")`); "" otherwise. It never evaluates
// anything, so it cannot show the secret.
func secretSource(a *hcl.Attribute) string {
	if a == nil {
		return ""
	}
	call, ok := a.Expr.(*hclsyntax.FunctionCallExpr)
	if !ok || (call.Name != "env" && call.Name != "file") || len(call.Args) != 1 {
		return ""
	}
	tmpl, ok := call.Args[0].(*hclsyntax.TemplateExpr)
	if !ok || !tmpl.IsStringLiteral() {
		return ""
	}
	v, diags := tmpl.Value(nil)
	if diags.HasErrors() || v.IsNull() {
		return ""
	}
	return call.Name + "(" + strconv.Quote(v.AsString()) + ")"
}
