#!/bin/sh
# Runs an uninstrumented program (pamtester, pam_host) that will load the ASan+UBSan build
# of pam_ciba.so: the ASan runtime must come first in the preload list. Reports go to
# files in LOGDIR, which the suite checks. LEAKS=1 turns LeakSanitizer on at exit (the suite
# first proves it reports a known leak here).  Usage: asan-run.sh ASAN_RUNTIME LOGDIR LEAKS CMD...
rt=$1
logdir=$2
leaks=$3
shift 3
LD_PRELOAD="$rt${LD_PRELOAD:+ $LD_PRELOAD}"
ASAN_OPTIONS="log_path=$logdir/asan:detect_leaks=$leaks:exitcode=86"
UBSAN_OPTIONS="log_path=$logdir/ubsan:print_stacktrace=1:halt_on_error=1"
export LD_PRELOAD ASAN_OPTIONS UBSAN_OPTIONS
exec "$@"
