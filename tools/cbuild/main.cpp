#include "cbuild/cbuild.hpp"

int main(int argc, char** argv) { return cicd::cbuild_main(argc, argv); }
