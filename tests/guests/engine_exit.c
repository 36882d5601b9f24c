// Exits with the code given as argv[1] (through proc_exit).
#include <stdlib.h>

int main(int argc, char** argv) { return argc > 1 ? atoi(argv[1]) : 0; }
