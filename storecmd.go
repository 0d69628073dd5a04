package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/dustin/go-humanize"

	"troubleshooter/adapters/boltstore"
)

// cmdStore is `troubleshooter store check|recover`: look after the bolt
// store file.
func cmdStore(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	const synopsis = "store check [--file PATH] [--config PATH]\n       troubleshooter store recover --to NEW.db [--file PATH] [--config PATH]"
	if len(args) == 0 {
		fmt.Fprintf(stderr, "Usage: troubleshooter %s\n", synopsis)
		return errUsage
	}
	sub, args := args[0], args[1:]
	fs := newFlags("store "+sub, synopsis, stderr)
	file := fs.String("file", "", "the bolt store file (default: the configured one)")
	config := configFlag(fs)
	var to *string
	switch sub {
	case "check":
	case "recover":
		to = fs.String("to", "", "the new file to write (must not exist)")
	case "-h", "--help", "-help", "help":
		fs.Usage()
		return flag.ErrHelp
	default:
		fmt.Fprintf(stderr, "unknown store command %q\nUsage: troubleshooter %s\n", sub, synopsis)
		return errUsage
	}
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "unexpected argument %q\n", fs.Arg(0))
		return errUsage
	}
	path := *file
	if path == "" {
		cfg, err := loadConfig(config())
		if err != nil {
			return err
		}
		if cfg.Store.Kind != "bolt" {
			return fmt.Errorf("store %s works on the bolt store; this config uses %q", sub, cfg.Store.Kind)
		}
		path = cfg.Store.Path
	}
	if sub == "check" {
		return storeCheck(path, stdout)
	}
	if *to == "" {
		fmt.Fprintln(stderr, "store recover needs --to NEW.db: the file to copy what is readable into")
		return errUsage
	}
	return storeRecover(path, *to, stdout)
}

// storeCheck prints CheckFile's report; a damaged file is an error (exit 1).
func storeCheck(path string, w io.Writer) error {
	rep, err := boltstore.CheckFile(path)
	if errors.Is(err, boltstore.ErrInUse) {
		return fmt.Errorf("%w: stop the bot before checking its store", err)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "store %s (%s)\n", path, humanize.IBytes(uint64(rep.Size)))
	fmt.Fprintf(w, "  sessions     %7d   corrupt records: %d\n", rep.Sessions, rep.CorruptSessions)
	fmt.Fprintf(w, "  outcomes     %7d   corrupt records: %d\n", rep.Outcomes, rep.CorruptOutcomes)
	fmt.Fprintf(w, "  due entries  %7d   naming no session: %d\n", rep.Due, rep.DueOrphans)
	if !rep.Damaged() {
		fmt.Fprintln(w, "  file: ok (every page readable; bbolt's check found nothing)")
		if rep.CorruptSessions > 0 {
			fmt.Fprintln(w, "  corrupt session records are reset when their person next writes")
		}
		return nil
	}
	fmt.Fprintln(w, "  file: DAMAGED")
	for _, p := range rep.Problems {
		fmt.Fprintf(w, "    %s\n", p)
	}
	if rep.More > 0 {
		fmt.Fprintf(w, "    … and %d more\n", rep.More)
	}
	return fmt.Errorf("the store file %s is damaged: stop the bot and run `troubleshooter store recover --to NEW.db`", path)
}

// storeRecover copies what is readable of path into to and says what was
// lost.
func storeRecover(path, to string, w io.Writer) error {
	res, err := boltstore.Recover(path, to)
	if errors.Is(err, boltstore.ErrInUse) {
		return fmt.Errorf("%w: stop the bot before recovering its store", err)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "recovered %s into %s\n", path, to)
	fmt.Fprintf(w, "  sessions  %7d copied, %d lost, %d corrupt records skipped\n", res.Sessions, res.LostSessions, res.CorruptSessions)
	fmt.Fprintf(w, "  outcomes  %7d copied, %d lost, %d corrupt records skipped\n", res.Outcomes, res.LostOutcomes, res.CorruptOutcomes)
	if n := len(res.UnreadablePages); n > 0 {
		fmt.Fprintf(w, "  %d unreadable pages skipped (lost counts only what the due index and the outcome counter name):\n", n)
		for i, p := range res.UnreadablePages {
			if i == 10 {
				fmt.Fprintf(w, "    … and %d more\n", n-10)
				break
			}
			fmt.Fprintf(w, "    %s\n", p)
		}
	} else {
		fmt.Fprintln(w, "  every page was readable")
	}
	fmt.Fprintf(w, "next: keep %s, point store.path (or TROUBLESHOOTER_STORE) at %s, or move it into place, and start the bot\n", path, to)
	return nil
}
