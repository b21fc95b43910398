package view

// CachedPages returns how many outbox pages the Outbox view holds (tests).
func CachedPages(a *App) int { return len(a.outbox.pager.pages) }
