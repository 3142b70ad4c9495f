package diagmodel

import (
	"slices"
	"sync"
)

// The check ids of the diagnostics catalog. The catalog lives in
// diagnostics/, above the policy loader (config), which must still refuse a
// suppress "CHECK-ID" block naming no check: diagnostics registers its ids
// here when it is linked, as the adapters register with engines.Register,
// and config reads them. A program that links no catalog registers none;
// its policy loader then checks the ids' form alone.
var checkIDs struct {
	sync.RWMutex
	ids []string
}

// RegisterCheckIDs makes ids known as check ids.
func RegisterCheckIDs(ids ...string) {
	checkIDs.Lock()
	defer checkIDs.Unlock()
	for _, id := range ids {
		if !slices.Contains(checkIDs.ids, id) {
			checkIDs.ids = append(checkIDs.ids, id)
		}
	}
	slices.Sort(checkIDs.ids)
}

// CheckIDs returns the registered check ids, sorted; nil when none is.
func CheckIDs() []string {
	checkIDs.RLock()
	defer checkIDs.RUnlock()
	return slices.Clone(checkIDs.ids)
}
