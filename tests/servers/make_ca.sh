#!/bin/sh
# Makes a throwaway test PKI for the local CIBA provider with the openssl CLI.
#
# Usage: make_ca.sh DIR
#
# DIR/ca.pem, ca.key            test CA the client is told to trust
# DIR/server.pem, server.key    127.0.0.1, ::1, localhost; signed by ca
# DIR/other-ca.pem, other-ca.key  a second CA nobody trusts
# DIR/untrusted.pem, .key       right names, signed by other-ca
# DIR/wronghost.pem, .key       signed by ca, only DNS:example.invalid
# DIR/expired.pem, .key         right names, signed by ca, validity in the past
#
# Keys are EC P-256. Running it again is a no-op while the server
# certificate has more than an hour left; otherwise everything is remade.
set -eu

if [ $# -ne 1 ]; then
	echo "usage: $0 DIR" >&2
	exit 2
fi
dir=$1
mkdir -p "$dir"

all="ca.pem ca.key server.pem server.key other-ca.pem other-ca.key
untrusted.pem untrusted.key wronghost.pem wronghost.key expired.pem expired.key"

complete=1
for f in $all; do
	[ -s "$dir/$f" ] || complete=0
done
if [ $complete = 1 ] &&
	openssl x509 -in "$dir/server.pem" -noout -checkend 3600 >/dev/null 2>&1; then
	exit 0
fi

work=$(mktemp -d "$dir/.make_ca.XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'exit 1' INT TERM
umask 077

newkey() {
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 \
		-out "$1" 2>/dev/null
}

# make_root NAME CN
make_root() {
	newkey "$work/$1.key"
	openssl req -x509 -new -key "$work/$1.key" -sha256 -days 3 \
		-subj "/CN=$2" \
		-addext "basicConstraints=critical,CA:TRUE" \
		-addext "keyUsage=critical,keyCertSign,cRLSign" \
		-addext "subjectKeyIdentifier=hash" \
		-out "$work/$1.pem"
}

# make_leaf NAME CA SAN
make_leaf() {
	newkey "$work/$1.key"
	openssl req -new -key "$work/$1.key" -subj "/CN=pam_ciba test $1" \
		-out "$work/$1.csr"
	cat >"$work/$1.ext" <<EOF
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=$3
authorityKeyIdentifier=keyid
EOF
	openssl x509 -req -in "$work/$1.csr" -sha256 -days 2 \
		-CA "$work/$2.pem" -CAkey "$work/$2.key" -set_serial "0x$(openssl rand -hex 8)" \
		-extfile "$work/$1.ext" -out "$work/$1.pem" 2>/dev/null
}

sans="IP:127.0.0.1,IP:::1,DNS:localhost"

make_root ca "pam_ciba test CA"
make_root other-ca "pam_ciba untrusted test CA"
make_leaf server ca "$sans"
make_leaf untrusted other-ca "$sans"
make_leaf wronghost ca "DNS:example.invalid"

# OpenSSL 3.0's x509 has no -not_before/-not_after; "openssl ca" takes
# explicit -startdate/-enddate, so it signs a certificate that already expired.
newkey "$work/expired.key"
openssl req -new -key "$work/expired.key" -subj "/CN=pam_ciba test expired" \
	-out "$work/expired.csr"
mkdir "$work/ca-db"
: >"$work/ca-db/index.txt"
cat >"$work/ca.cnf" <<EOF
[ ca ]
default_ca = test_ca
[ test_ca ]
dir = $work/ca-db
database = \$dir/index.txt
new_certs_dir = \$dir
serial = \$dir/serial
certificate = $work/ca.pem
private_key = $work/ca.key
default_md = sha256
policy = any
copy_extensions = none
x509_extensions = leaf
unique_subject = no
[ any ]
commonName = supplied
[ leaf ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = $sans
authorityKeyIdentifier = keyid
EOF
openssl rand -hex 8 >"$work/ca-db/serial"
openssl ca -batch -notext -config "$work/ca.cnf" -in "$work/expired.csr" \
	-startdate 20200101000000Z -enddate 20200102000000Z \
	-out "$work/expired.pem" 2>/dev/null

for f in $all; do
	mv -f "$work/$f" "$dir/$f"
done
chmod 0644 "$dir"/*.pem
chmod 0600 "$dir"/*.key
