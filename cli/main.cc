// The rayx binary's entry point. This is the one translation unit that routes C++ new/delete
// through mimalloc (linking libmimalloc also replaces malloc/free for the whole process).
#include <mimalloc-new-delete.h>

#include "cli/app.h"

int main(int argc, char** argv) { return rayx::cli::RunCli(argc, argv); }
