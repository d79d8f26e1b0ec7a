#include "cdeploy/cdeploy.hpp"

int main(int argc, char** argv) { return cicd::cdeploy_main(argc, argv); }
