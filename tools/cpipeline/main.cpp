#include "cpipeline/cpipeline.hpp"

int main(int argc, char** argv) { return cicd::cpipeline_main(argc, argv); }
