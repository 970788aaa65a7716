#!/bin/sh
# Runs an uninstrumented program (pamtester, pam_host) that will load the ASan+UBSan build
# of pam_ciba.so: the ASan runtime must come first in the preload list. Reports go to
# files in LOGDIR, which the suite checks. Leak checking is off here: LeakSanitizer's tracer
# crashes at exit of some pamtester+pam_wrapper processes; leaks are covered by LSan in the
# unit tests and fuzzers and by the valgrind suite.  Usage: asan-run.sh ASAN_RUNTIME LOGDIR CMD...
rt=$1
logdir=$2
shift 2
LD_PRELOAD="$rt${LD_PRELOAD:+ $LD_PRELOAD}"
ASAN_OPTIONS="log_path=$logdir/asan:detect_leaks=0:exitcode=86"
UBSAN_OPTIONS="log_path=$logdir/ubsan:print_stacktrace=1:halt_on_error=1"
export LD_PRELOAD ASAN_OPTIONS UBSAN_OPTIONS
exec "$@"
