package names

import "testing"

func TestSame(t *testing.T) {
	for name, c := range map[string]struct {
		manifest, bank string
		same           bool
	}{
		"identical":            {"Gentur Brahmaputra", "Gentur Brahmaputra", true},
		"case":                 {"Gentur Brahmaputra", "GENTUR BRAHMAPUTRA", true},
		"spaces":               {"BUDI  SANTOSO", " Budi Santoso ", true},
		"title with dot":       {"Gentur", "Mr. Gentur", true},
		"title without dot":    {"Ann Lee", "MRS ANN LEE", true},
		"Indonesian title":     {"Budi Santoso", "BAPAK BUDI SANTOSO", true},
		"Ibu":                  {"Siti Aminah", "Ibu Siti Aminah", true},
		"two titles":           {"Ann Lee", "Dr. Mrs. Ann Lee", true},
		"accents":              {"José Müller", "JOSE MULLER", true},
		"accents both sides":   {"Zoë Ångström", "zoe angstrom", true},
		"comma":                {"Lee, Ann", "LEE ANN", true},
		"different person":     {"Budi Santoso", "BUDI SANTOSA", false},
		"other order":          {"Ann Lee", "Lee Ann", false},
		"missing part":         {"Budi Santoso", "Budi", false},
		"title inside is kept": {"Ann Ibu Lee", "Ann Lee", false},
		"empty bank name":      {"Budi", "", false},
		"only a title":         {"Ibu", "IBU", true},
		"title is not a name":  {"Ibu", "Ibu Siti", false},
	} {
		t.Run(name, func(t *testing.T) {
			if got := Same(c.manifest, c.bank); got != c.same {
				t.Errorf("Same(%q, %q) = %v, want %v (normal %q and %q)", c.manifest, c.bank, got, c.same, Normal(c.manifest), Normal(c.bank))
			}
		})
	}
}
