package flows
import "testing"
func TestZZMut(t *testing.T){
	c := compileVariant(t, "9", "        next: outage_wait\n        means: \"no\"\n        aliases: [still", "        next: fix_delete_backup\n        means: \"no\"\n        aliases: [still")
	auditPaths(t, c, whatsappPathRules)
	c = compileVariant(t, "9", "    else: fix_update\n    unknown: fix_update", "    else: apple_status\n    unknown: fix_update")
	auditPaths(t, c, whatsappPathRules)
	c = compileVariant(t, "9", "        next: fix_icloud_signin", "        next: fix_icloud_access")
	auditPaths(t, c, whatsappPathRules)
	c = compileVariant(t, "9", "    next: escalate\n\n  # ── Endings", "    next: fix_restart\n\n  # ── Endings")
	auditPaths(t, c, whatsappPathRules)
}
