// Hardhat configuration of the local Ethereum node used by the JSON-RPC tests
// (src/vp/wallet/rpc_test.cc, started through node.mjs). Everything a test relies on is
// pinned here rather than left to Hardhat's defaults: chain id, the accounts (Hardhat's
// well-known mnemonic, so account #0 is 0xf39F…2266 with key 0xac09…ff80), their balance,
// the hardfork and the initial base fee. Mining is automatic; a test that needs a stuck
// transaction turns it off over RPC (evm_setAutomine false, evm_setIntervalMining N) and
// mines by hand with evm_mine.
module.exports = {
  defaultNetwork: "hardhat",
  networks: {
    hardhat: {
      chainId: 1337,
      hardfork: "cancun",
      initialBaseFeePerGas: 1000000000,
      accounts: {
        mnemonic: "test test test test test test test test test test test junk",
        path: "m/44'/60'/0'/0",
        count: 20,
        accountsBalance: "10000000000000000000000",
      },
      mining: {
        auto: true,
        interval: 0,
        mempool: { order: "fifo" },
      },
      loggingEnabled: false,
    },
  },
};
