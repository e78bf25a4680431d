// Package atomicfile is payctl's one way to replace a file durably: write a
// temporary file in the target's directory, fsync it, rename it over the
// target, fsync the directory. A crash at any point leaves either the old
// file or the new one, never a mix, and a reader never sees a partial file.
// The temporary file is removed only when the write fails.
package atomicfile

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Options adjust a write.
type Options struct {
	// Perm of the new file; 0 means 0600.
	Perm os.FileMode
	// Backup, if set, names a path that receives the previous contents of
	// the target (as a hard link, or a copy where links are unsupported)
	// before the target is replaced.
	Backup string
	// BeforeRename runs after the temporary file is durable and before it
	// is renamed; tests use it to crash or fail at that point.
	BeforeRename func() error
	// Create opens the temporary file; tests inject write failures (a full
	// disk) through it. Nil means os.OpenFile.
	Create func(name string, perm os.FileMode) (File, error)
}

// File is what Write needs of a temporary file.
type File interface {
	io.Writer
	Sync() error
	Close() error
	Name() string
}

// WriteFile atomically replaces path with data.
func WriteFile(path string, data []byte, o Options) error {
	return Write(path, func(w io.Writer) error {
		_, err := w.Write(data)
		return err
	}, o)
}

// Write atomically replaces path with what fill writes.
func Write(path string, fill func(io.Writer) error, o Options) (err error) {
	perm := o.Perm
	if perm == 0 {
		perm = 0o600
	}
	dir := filepath.Dir(path)
	tmp := filepath.Join(dir, fmt.Sprintf(".%s.tmp-%d", filepath.Base(path), os.Getpid()))
	create := o.Create
	if create == nil {
		create = func(name string, perm os.FileMode) (File, error) {
			return os.OpenFile(name, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, perm)
		}
	}
	f, err := create(tmp, perm)
	if err != nil {
		return fmt.Errorf("create temporary file for %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err = fill(f); err != nil {
		return fmt.Errorf("write %s: %w", tmp, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("sync %s: %w", tmp, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("close %s: %w", tmp, err)
	}
	if o.Backup != "" {
		if err = backup(path, o.Backup); err != nil {
			return err
		}
	}
	if o.BeforeRename != nil {
		if err = o.BeforeRename(); err != nil {
			return err
		}
	}
	if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("replace %s: %w", path, err)
	}
	return SyncDir(dir)
}

// backup makes dst hold the current contents of src, if src exists. It goes
// through a temporary name so dst is never partial.
func backup(src, dst string) error {
	if _, err := os.Lstat(src); os.IsNotExist(err) {
		return nil
	}
	tmp := dst + ".new"
	os.Remove(tmp)
	if err := os.Link(src, tmp); err != nil {
		// Filesystems without hard links get a copy.
		data, rerr := os.ReadFile(src)
		if rerr != nil {
			return fmt.Errorf("back up %s: %w", src, rerr)
		}
		if werr := WriteFile(tmp, data, Options{}); werr != nil {
			return fmt.Errorf("back up %s: %w", src, werr)
		}
	}
	if err := os.Rename(tmp, dst); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("back up %s: %w", src, err)
	}
	return nil
}

// SyncDir fsyncs a directory so a rename or create in it is durable.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}
