/* authhttp.c - the auth_http endpoint bench/apop.sh gives nginx's mail proxy: APOP checked, backend named. */
#include <errno.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

/*
 * Usage: authhttp PORT SECRET BACKEND_PORT BACKEND_PASS
 *   Listens on 127.0.0.1:PORT.  For each request of nginx's mail module
 *   (Auth-Method apop, Auth-User, Auth-Salt the banner's timestamp,
 *   Auth-Pass the digest) it checks the digest against MD5(salt SECRET),
 *   as apop-proxy checks its users' APOP secrets, and answers with the
 *   backend 127.0.0.1:BACKEND_PORT and the password nginx logs in with
 *   there; anything else gets Auth-Status "Invalid login".  One request
 *   per connection (nginx sends HTTP/1.0 and closes).  Every read waits at
 *   most 10 s.
 */

#define REQ_MAX 4096

static const char *secret, *backend_port, *backend_pass;

/* The value of header name in the request, copied into out; false if absent. */
static bool header(const char *req, const char *name, char *out, size_t size)
{
	size_t n = strlen(name);

	for (const char *p = strstr(req, "\r\n"); p != NULL; p = strstr(p + 2, "\r\n")) {
		const char *h = p + 2, *end;

		if (strncasecmp(h, name, n) != 0 || h[n] != ':')
			continue;
		h += n + 1;
		while (*h == ' ')
			h++;
		end = strstr(h, "\r\n");
		if (end == NULL || (size_t)(end - h) >= size)
			return false;
		memcpy(out, h, (size_t)(end - h));
		out[end - h] = '\0';
		return true;
	}
	return false;
}

static bool apop_ok(const char *req)
{
	char method[16], salt[512], pass[64], msg[600], hex[33];
	unsigned char md[EVP_MAX_MD_SIZE];
	size_t mdlen = 0;
	int n;

	if (!header(req, "Auth-Method", method, sizeof(method)) || strcmp(method, "apop") != 0 ||
	    !header(req, "Auth-Salt", salt, sizeof(salt)) ||
	    !header(req, "Auth-Pass", pass, sizeof(pass)) || strlen(pass) != 32)
		return false;
	/* nginx passes the salt as the banner shows it, CRLF included. */
	salt[strcspn(salt, "\r\n")] = '\0';
	n = snprintf(msg, sizeof(msg), "%s%s", salt, secret);
	if (n < 0 || (size_t)n >= sizeof(msg) ||
	    EVP_Q_digest(NULL, "MD5", NULL, msg, (size_t)n, md, &mdlen) != 1 || mdlen != 16)
		return false;
	for (size_t i = 0; i < 16; i++)
		snprintf(hex + 2 * i, 3, "%02x", md[i]);
	return CRYPTO_memcmp(hex, pass, 32) == 0;
}

static void serve(int c)
{
	char req[REQ_MAX + 1], out[512];
	size_t len = 0;
	int n;

	while (len < REQ_MAX) {
		struct pollfd p = { .fd = c, .events = POLLIN };
		ssize_t r;

		if (poll(&p, 1, 10000) <= 0)
			return;
		r = read(c, req + len, REQ_MAX - len);
		if (r <= 0)
			return;
		len += (size_t)r;
		req[len] = '\0';
		if (strstr(req, "\r\n\r\n") != NULL)
			break;
	}
	if (apop_ok(req))
		n = snprintf(out, sizeof(out), "HTTP/1.0 200 OK\r\nAuth-Status: OK\r\n"
		             "Auth-Server: 127.0.0.1\r\nAuth-Port: %s\r\nAuth-Pass: %s\r\n\r\n",
		             backend_port, backend_pass);
	else
		n = snprintf(out, sizeof(out), "HTTP/1.0 200 OK\r\nAuth-Status: Invalid login\r\n"
		             "Auth-Wait: 1\r\n\r\n");
	if (n > 0 && (size_t)n < sizeof(out))
		(void)!write(c, out, (size_t)n);
}

int main(int argc, char **argv)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	int l, one = 1;

	if (argc != 5) {
		fprintf(stderr, "usage: authhttp PORT SECRET BACKEND_PORT BACKEND_PASS\n");
		return 2;
	}
	secret = argv[2];
	backend_port = argv[3];
	backend_pass = argv[4];
	a.sin_port = htons((uint16_t)atoi(argv[1]));
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (l < 0 || setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(l, (struct sockaddr *)&a, sizeof(a)) != 0 || listen(l, 511) != 0) {
		perror("authhttp");
		return 1;
	}
	for (;;) {
		int c = accept4(l, NULL, NULL, SOCK_CLOEXEC);

		if (c < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			perror("accept");
			return 1;
		}
		serve(c);
		close(c);
	}
}
