/* The pod sandbox's process (what the image registry.k8s.io/pause holds elsewhere): it keeps the
 * pod's namespaces alive, reaps children orphaned into it, and exits on SIGINT or SIGTERM.
 * Built with `gcc -static` by tests/node/images.sh, so its image needs no other file. */
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

static void stop(int sig) {
	(void)sig;
	_exit(0);
}

static void reap(int sig) {
	(void)sig;
	while (waitpid(-1, 0, WNOHANG) > 0) {
	}
}

int main(void) {
	struct sigaction quit = {.sa_handler = stop};
	struct sigaction child = {.sa_handler = reap, .sa_flags = SA_NOCLDSTOP | SA_RESTART};
	sigaction(SIGINT, &quit, 0);
	sigaction(SIGTERM, &quit, 0);
	sigaction(SIGCHLD, &child, 0);
	for (;;)
		pause();
}
