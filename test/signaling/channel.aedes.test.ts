import { startAedes } from '../helpers/brokers.js';
import { channelContract, mqttRig } from './contract.js';

channelContract('MQTT over embedded aedes (3.1.1)', mqttRig(() => startAedes()));
