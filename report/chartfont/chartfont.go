// Package chartfont loads the CJK font the report charts are drawn with. It
// is a leaf (it imports nothing of dbopsd) so that the policy loader can
// check a report block's font = "..." at load time.
package chartfont

import (
	"fmt"
	"os"
	"sync"

	xfont "golang.org/x/image/font"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/font/sfnt"
	"gonum.org/v1/plot/font"
)

// DefaultFontPath is where Debian's fonts-noto-cjk puts the collection whose
// "Noto Sans CJK SC" face draws the charts' Chinese labels.
const DefaultFontPath = "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"

// FontFamily is the face the charts use, from the collection or single font
// at the configured path.
const FontFamily = "Noto Sans CJK SC"

// typeface is the name the charts' font cache knows the face by.
const Typeface font.Typeface = "NotoSansCJKSC"

var fonts struct {
	sync.Mutex
	byPath map[string]*font.Cache
}

// Load reads the chart font at path (a .ttc collection holding the
// Noto Sans CJK SC face, or a single .otf/.ttf of any family) once per
// process. A missing or unreadable file, or a collection without the
// face, is an error that names the path and the package to install.
func Load(path string) (*font.Cache, error) {
	if path == "" {
		path = DefaultFontPath
	}
	fonts.Lock()
	defer fonts.Unlock()
	if c := fonts.byPath[path]; c != nil {
		return c, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("chart font: %w (install Debian's fonts-noto-cjk, or set font = \"/path/to/a CJK .ttc or .otf\" in the report block)", err)
	}
	coll, err := opentype.ParseCollection(data)
	if err != nil {
		return nil, fmt.Errorf("chart font %s: %w", path, err)
	}
	var face *sfnt.Font
	for i := range coll.NumFonts() {
		f, err := coll.Font(i)
		if err != nil {
			return nil, fmt.Errorf("chart font %s: face %d: %w", path, i, err)
		}
		name, _ := f.Name(nil, sfnt.NameIDFamily)
		if name == FontFamily || (coll.NumFonts() == 1 && face == nil) {
			face = f
			if name == FontFamily {
				break
			}
		}
	}
	if face == nil {
		return nil, fmt.Errorf("chart font %s: the collection has no %q face", path, FontFamily)
	}
	c := font.NewCache(font.Collection{{Font: font.Font{Typeface: Typeface, Weight: xfont.WeightNormal}, Face: face}})
	if fonts.byPath == nil {
		fonts.byPath = map[string]*font.Cache{}
	}
	fonts.byPath[path] = c
	return c, nil
}

// Check says whether path holds a usable chart font, reading only the
// collection's directory and name tables: the policy loader calls it on
// every load, and a CLI backup should not pay for a 20 MB font.
func Check(path string) error {
	if path == "" {
		path = DefaultFontPath
	}
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("%w (install Debian's fonts-noto-cjk, or set font to a CJK .ttc or .otf file)", err)
	}
	defer f.Close()
	coll, err := sfnt.ParseCollectionReaderAt(f)
	if err != nil {
		return fmt.Errorf("%s is not an OpenType font or collection: %w", path, err)
	}
	if coll.NumFonts() == 1 {
		return nil
	}
	for i := range coll.NumFonts() {
		fnt, err := coll.Font(i)
		if err != nil {
			return fmt.Errorf("%s: face %d: %w", path, i, err)
		}
		if name, _ := fnt.Name(nil, sfnt.NameIDFamily); name == FontFamily {
			return nil
		}
	}
	return fmt.Errorf("the collection %s has no %q face", path, FontFamily)
}
